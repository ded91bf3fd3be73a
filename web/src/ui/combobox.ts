// A class-name input with autocomplete over the model's labels (WAI-ARIA combobox with a listbox popup).
import type { ClassInfo, ClassLabels } from '../../../src/model/labels.js';

const MAX_OPTIONS = 8;

interface Match {
  info: ClassInfo;
  name: string;
  rank: number;
}

/** Classes whose names match `query`: names starting with it first, then words starting with it, then any substring. */
export function matchClasses(labels: ClassLabels, query: string, limit = MAX_OPTIONS): Match[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  const best = new Map<number, Match>();
  for (const info of labels.classes) {
    for (const name of info.names) {
      const n = name.toLowerCase();
      const at = n.indexOf(q);
      if (at < 0) continue;
      const rank = at === 0 ? 0 : /[\s\-'(]/.test(n[at - 1]) ? 1 : 2;
      const seen = best.get(info.index);
      if (!seen || rank < seen.rank) best.set(info.index, { info, name, rank });
    }
  }
  return [...best.values()]
    .sort((a, b) => a.rank - b.rank || a.name.length - b.name.length || a.name.localeCompare(b.name))
    .slice(0, limit);
}

/** Wires an `<input role="combobox">` and its `<ul role="listbox">` to the labels; `value()` resolves the text. */
export class ClassCombobox {
  private matches: Match[] = [];
  private active = -1;
  onPick?: (index: number) => void;

  constructor(
    private readonly input: HTMLInputElement,
    private readonly list: HTMLUListElement,
    private readonly labels: () => ClassLabels | undefined,
  ) {
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-expanded', 'false');
    input.setAttribute('aria-controls', list.id);
    input.autocomplete = 'off';
    input.spellcheck = false;
    list.setAttribute('role', 'listbox');
    input.addEventListener('input', () => this.update());
    input.addEventListener('keydown', (e) => this.key(e));
    input.addEventListener('blur', () => this.close());
    // Keep focus in the input while an option is clicked.
    list.addEventListener('mousedown', (e) => e.preventDefault());
    list.addEventListener('click', (e) => {
      const li = (e.target as HTMLElement).closest('li');
      if (li) this.pick(Number(li.dataset.position));
    });
  }

  /** The class the text names (index, WordNet id or any of its names); throws with the closest names if none. */
  value(): number {
    const labels = this.labels();
    if (!labels) throw new Error('the labels are not loaded yet');
    return labels.resolve(this.input.value).index;
  }

  /** Shows class `index`'s name in the input. */
  set(index: number): void {
    this.input.value = this.labels()?.name(index) ?? String(index);
    this.close();
  }

  private update(): void {
    const labels = this.labels();
    this.matches = labels ? matchClasses(labels, this.input.value) : [];
    this.active = -1;
    this.render();
  }

  private render(): void {
    this.list.replaceChildren(
      ...this.matches.map((m, i) => {
        const li = document.createElement('li');
        li.id = `${this.list.id}-${i}`;
        li.setAttribute('role', 'option');
        li.setAttribute('aria-selected', String(i === this.active));
        li.dataset.position = String(i);
        li.dataset.index = String(m.info.index);
        // The display name tells apart classes that share a name ('crane (n02012849)'); picking sets it.
        const shown = this.labels()!.name(m.info.index);
        li.textContent = m.name === m.info.names[0] ? shown : `${m.name} (${shown})`;
        return li;
      }),
    );
    const open = this.matches.length > 0;
    this.list.hidden = !open;
    this.input.setAttribute('aria-expanded', String(open));
    if (this.active >= 0) {
      this.input.setAttribute('aria-activedescendant', `${this.list.id}-${this.active}`);
      this.list.children[this.active]?.scrollIntoView({ block: 'nearest' });
    } else this.input.removeAttribute('aria-activedescendant');
  }

  private key(e: KeyboardEvent): void {
    const open = !this.list.hidden;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (!open) this.update();
      if (this.matches.length === 0) return;
      const step = e.key === 'ArrowDown' ? 1 : -1;
      this.active = (this.active + step + this.matches.length) % this.matches.length;
      this.render();
    } else if (e.key === 'Enter' && open && this.active >= 0) {
      e.preventDefault();
      this.pick(this.active);
    } else if (e.key === 'Escape' && open) {
      e.preventDefault();
      this.close();
    }
  }

  private pick(position: number): void {
    const m = this.matches[position];
    if (!m) return;
    this.set(m.info.index);
    this.onPick?.(m.info.index);
  }

  private close(): void {
    this.matches = [];
    this.active = -1;
    this.render();
  }
}
