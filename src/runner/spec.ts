/** A method or metric as asked for on the command line: its name and the options given with it. */
export interface Spec {
  name: string;
  /** Option values by camelCase name (numbers parsed): as given, or with defaults filled in (metrics). */
  options: Record<string, number | string | boolean | number[] | null>;
  /** How it was asked for: `name` or `name[key=value,…]` with keys sorted; shown in tables and exports. */
  label: string;
}

/** The error a malformed `--methods`/`--metrics` list raises (the CLI reports it as a usage error). */
export class SpecError extends Error {
  override name = 'SpecError';
}

const camel = (s: string) => s.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function parseValue(text: string): number | string | boolean {
  if (text === 'true' || text === 'false') return text === 'true';
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) ? n : text;
}

/**
 * Parses a comma-separated list of `name` or `name[key=value,key=value]` (e.g. `saliency,ig[steps=32]` or
 * `pixel-flipping[features-in-step=224]`): keys may be kebab- or camelCase and are stored camelCase; values are
 * numbers, `true`/`false`, or strings. `what` names the flag in errors. Throws SpecError on malformed input or a
 * name listed twice with the same options.
 */
export function parseSpecs(text: string, what: string): Spec[] {
  const specs: Spec[] = [];
  let i = 0;
  while (i < text.length) {
    const match = /^\s*([A-Za-z0-9][\w+.-]*)\s*/.exec(text.slice(i));
    if (!match) throw new SpecError(`${what}: expected a name at '${text.slice(i)}'`);
    i += match[0].length;
    const options: Spec['options'] = {};
    if (text[i] === '[') {
      const end = text.indexOf(']', i);
      if (end < 0) throw new SpecError(`${what}: '[' after '${match[1]}' is not closed`);
      for (const pair of text.slice(i + 1, end).split(',')) {
        const eq = pair.indexOf('=');
        const key = pair.slice(0, eq).trim();
        if (eq < 0 || !key)
          throw new SpecError(`${what}: option '${pair.trim()}' of '${match[1]}' is not key=value`);
        options[camel(key)] = parseValue(pair.slice(eq + 1).trim());
      }
      i = end + 1;
    }
    while (text[i] === ' ') i++;
    if (i < text.length && text[i] !== ',')
      throw new SpecError(`${what}: expected ',' after '${match[1]}', got '${text.slice(i)}'`);
    i++;
    const entries = Object.entries(options).sort(([a], [b]) => (a < b ? -1 : 1));
    const label = entries.length
      ? `${match[1]}[${entries.map(([k, v]) => `${k}=${v}`).join(',')}]`
      : match[1];
    specs.push({ name: match[1], options, label });
  }
  if (specs.length === 0) throw new SpecError(`${what}: empty list`);
  const labels = specs.map((s) => s.label);
  const twice = labels.find((l, j) => labels.indexOf(l) !== j);
  if (twice) throw new SpecError(`${what}: '${twice}' is listed twice`);
  return specs;
}

/** The options as canonical JSON (keys sorted): the part of a result's key that names the options. */
export function canonicalOptions(options: Spec['options']): string {
  return JSON.stringify(Object.fromEntries(Object.entries(options).sort(([a], [b]) => (a < b ? -1 : 1))));
}
