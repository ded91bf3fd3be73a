import { ModelError } from '../onnx/proto.js';
import { closestStrings } from '../util/closest.js';

/** One class of a classifier: its output index, optional WordNet id, and names (the first is the display name). */
export interface ClassInfo {
  index: number;
  wnid?: string;
  names: string[];
}

/** A class reference could not be resolved: unknown name, ambiguous name, or index out of range. */
export class ClassLookupError extends Error {
  override name = 'ClassLookupError';
}

/**
 * The class labels of a classifier, with lookup by index, WordNet id or name. Classes that share their first name
 * (ImageNet's two 'crane's and two 'maillot's) get display names that tell them apart: the name and, in brackets, a
 * synonym of theirs that the others lack, else their WordNet id, else their index (`crane (n02012849)`,
 * `maillot (tank suit)`).
 */
export class ClassLabels {
  private readonly byName = new Map<string, ClassInfo[]>();
  private readonly byWnid = new Map<string, ClassInfo>();
  private readonly display: string[];
  private readonly byDisplay = new Map<string, ClassInfo>();

  constructor(readonly classes: readonly ClassInfo[]) {
    for (const c of classes) {
      if (c.wnid) this.byWnid.set(c.wnid.toLowerCase(), c);
      for (const n of c.names) {
        const key = n.toLowerCase();
        const list = this.byName.get(key) ?? [];
        if (!list.includes(c)) list.push(c);
        this.byName.set(key, list);
      }
    }
    const sharing = new Map<string, ClassInfo[]>();
    for (const c of classes) {
      const key = c.names[0].toLowerCase();
      sharing.set(key, [...(sharing.get(key) ?? []), c]);
    }
    this.display = classes.map((c) => {
      const group = sharing.get(c.names[0].toLowerCase())!;
      if (group.length === 1) return c.names[0];
      const others = new Set(
        group.filter((o) => o !== c).flatMap((o) => o.names.map((n) => n.toLowerCase())),
      );
      const own = c.names.slice(1).find((n) => !others.has(n.toLowerCase()));
      return `${c.names[0]} (${own ?? c.wnid ?? `class ${c.index}`})`;
    });
    classes.forEach((c, i) => this.byDisplay.set(this.display[i].toLowerCase(), c));
  }

  /** Labels from JSON: `[{wnid, names}]` (netvis/ImageNet form) or a plain array of names. */
  static fromJson(json: unknown, source = 'labels'): ClassLabels {
    if (!Array.isArray(json)) throw new ModelError(`${source}: expected a JSON array of class labels`);
    return new ClassLabels(
      json.map((entry, index): ClassInfo => {
        if (typeof entry === 'string') return { index, names: [entry] };
        if (entry && Array.isArray(entry.names) && entry.names.length > 0) {
          return {
            index,
            wnid: typeof entry.wnid === 'string' ? entry.wnid : undefined,
            names: entry.names.map(String),
          };
        }
        throw new ModelError(`${source}: entry ${index} is neither a name nor {"wnid", "names": [...]}`);
      }),
    );
  }

  get size(): number {
    return this.classes.length;
  }

  /** Display name of class `index`: its first name, told apart from classes that share it. */
  name(index: number): string {
    return this.display[index] ?? `class ${index}`;
  }

  /** Resolves a class given as an index (number or digits), a WordNet id (`n01774750`), a display name or a name (case-insensitive). */
  resolve(ref: string | number): ClassInfo {
    const text = String(ref).trim();
    if (/^\d+$/.test(text)) {
      const c = this.classes[Number(text)];
      if (!c) throw new ClassLookupError(`class index ${text} is out of range (0 to ${this.size - 1})`);
      return c;
    }
    const key = text.toLowerCase();
    const exact = this.byWnid.get(key) ?? this.byDisplay.get(key);
    if (exact) return exact;
    const matches = this.byName.get(key);
    if (matches?.length === 1) return matches[0];
    if (matches && matches.length > 1) {
      const primary = matches.filter((c) => c.names[0].toLowerCase() === key);
      if (primary.length === 1) return primary[0];
      const options = matches.map((c) => `'${this.name(c.index)}' (${c.index})`).join(', ');
      throw new ClassLookupError(
        `class name '${text}' is ambiguous: ${options}; give a display name, a WordNet id or an index`,
      );
    }
    if (/^-\d+$/.test(text))
      throw new ClassLookupError(`class index ${text} is out of range (0 to ${this.size - 1})`);
    throw new ClassLookupError(
      `unknown class '${text}'; closest: ${this.closest(key, 5)
        .map((n) => `'${n}'`)
        .join(', ')}`,
    );
  }

  /** The `count` class names closest to `text` (substring matches first, then by edit distance). */
  closest(text: string, count = 5): string[] {
    return closestStrings(text, this.byName.keys(), count).map((n) =>
      this.byName.get(n)![0].names.find((x) => x.toLowerCase() === n)!,
    );
  }
}
