import { rgbaFromRgb } from '../../../src/image/browser.js';
import type { RgbImage } from '../../../src/image/types.js';
import type { ClassScore } from '../protocol.js';

/** The element with this id, checked to be of the expected class. */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`page: #${id} is missing or not a ${type.name}`);
  return el;
}

/** Draws an RGB image on a canvas, sizing the canvas to it. */
export function drawRgb(canvas: HTMLCanvasElement, image: RgbImage): void {
  if (canvas.width !== image.width) canvas.width = image.width;
  if (canvas.height !== image.height) canvas.height = image.height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('this browser has no 2D canvas');
  ctx.putImageData(new ImageData(rgbaFromRgb(image), image.width, image.height), 0, 0);
}

/** Offers bytes or a blob to the user as a file download. */
export function download(data: Blob | Uint8Array<ArrayBuffer>, fileName: string, type: string): void {
  const blob = data instanceof Blob ? data : new Blob([data], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The canvas as a PNG download. */
export function downloadCanvas(canvas: HTMLCanvasElement, fileName: string): void {
  canvas.toBlob((blob) => {
    if (blob) download(blob, fileName, 'image/png');
  }, 'image/png');
}

/** A number from an input, checked against its min and max; throws a message naming its label otherwise. */
export function numberFrom(input: HTMLInputElement, integer = false): number {
  const label = input.labels?.[0]?.textContent?.trim() ?? input.id;
  const v = input.valueAsNumber;
  const min = input.min === '' ? -Infinity : Number(input.min);
  const max = input.max === '' ? Infinity : Number(input.max);
  if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    const range = `${Number.isFinite(min) ? min : '−∞'} to ${Number.isFinite(max) ? max : '∞'}`;
    throw new Error(`${label}: expected ${integer ? 'a whole number' : 'a number'} from ${range}`);
  }
  return v;
}

/** A slug for file names: lowercase words joined by dashes. */
export function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'image'
  );
}

/** `p` as a percentage with one decimal. */
export function percent(p: number): string {
  return `${(p * 100).toFixed(1)}%`;
}

/** Fills a list with classes and their probabilities (each item's `--p` drives its bar). */
export function renderScores(
  list: HTMLOListElement,
  scores: ClassScore[],
  name: (index: number) => string,
): void {
  list.replaceChildren(
    ...scores.map((t) => {
      const li = document.createElement('li');
      li.dataset.index = String(t.index);
      li.dataset.probability = String(t.probability);
      li.style.setProperty('--p', String(t.probability));
      const label = document.createElement('span');
      label.className = 'label';
      label.textContent = name(t.index);
      const value = document.createElement('span');
      value.className = 'value';
      value.textContent = percent(t.probability);
      li.append(label, value);
      return li;
    }),
  );
}
