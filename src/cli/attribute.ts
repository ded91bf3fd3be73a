import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Command, Option } from 'commander';
import { imageBatch, readImages } from '../image/load.js';
import type { RgbImage } from '../image/types.js';
import {
  ATTRIBUTION_METHODS,
  type AttributionMethodEntry,
  METHOD_FAMILIES,
  attributionMethod,
  methodsFor,
  methodsInGridOrder,
  type MethodFamily,
  type MethodSettings,
} from '../methods/attribution/registry.js';
import { channelSum, resolveTargets } from '../methods/attribution/support.js';
import type { Classifier } from '../model/classifier.js';
import { COLORMAP_NAMES, type ColormapName, type SignMode } from '../render/colormap.js';
import { methodGrid, type MapStyle, type MethodRow } from '../render/method-grid.js';
import type { ReportSection } from '../render/report.js';
import type { Spec } from '../runner/spec.js';
import type { Tensor } from '../tensor.js';
import { decodeNpy, encodeNpy, NpyError } from '../util/npy.js';
import { ModelError } from '../onnx/proto.js';
import { UsageError } from './errors.js';
import {
  mapStats,
  classifierFrom,
  MAX_COUNT,
  numberFlag,
  planOutputs,
  printJson,
  progressBar,
  withInterrupt,
  withModelOptions,
  withProgressOption,
  type ModelFlags,
  type NumberBounds,
  type ProgressFlags,
} from './shared.js';

/** One method's maps for a batch, and what to report about each image. */
export interface MethodRun {
  method: string;
  title: string;
  /** N×3×H×W or N×H×W as the method returns them. */
  maps: Tensor;
  style: MapStyle;
  /** Per image: method-specific facts for JSON (layer, completeness gap, …). */
  details: Record<string, unknown>[];
  /** Per image: a short note for the figure caption, or ''. */
  notes: string[];
}

/** Runs one registered attribution method on a batch for fixed labels. */
export async function runMethod(
  classifier: Classifier,
  method: string,
  images: Tensor,
  labels: number[],
  settings: MethodSettings,
): Promise<MethodRun> {
  const entry = attributionMethod(method);
  if (!entry) throw new UsageError(`unknown attribution method '${method}'`);
  const out = await entry.run(classifier, images, labels, settings);
  return { method, title: entry.title, style: { ...entry.display }, ...out };
}

/** A display map per image (N×H×W): channels summed, as absolute values for sign 'absolute' (the default). */
export function displayMaps(run: MethodRun, sign?: SignMode): Float32Array[] {
  const s = sign ?? run.style.sign ?? 'absolute';
  const maps = channelSum(run.maps, s === 'absolute');
  const [n, h, w] = maps.dims;
  return Array.from({ length: n }, (_, i) => maps.data.slice(i * h * w, (i + 1) * h * w));
}

/** Drawing options given on the command line; each overrides every method's own style. */
export interface StyleFlags {
  colormap?: ColormapName;
  sign?: SignMode;
  clip: number;
  overlay?: boolean;
  alpha?: number;
}

/** The comparison grid as PNG bytes: per image a row of the image and each run's map. */
export function comparisonGrid(
  crops: RgbImage[],
  captions: string[],
  runs: MethodRun[],
  flags: StyleFlags,
): Promise<Uint8Array> {
  const display = runs.map((r) => displayMaps(r, flags.sign));
  const rows: MethodRow[] = crops.map((image, i) => ({
    image,
    caption: captions[i],
    panels: runs.map((r, m) => {
      const style: MapStyle = { ...r.style, clipPercentile: flags.clip };
      if (flags.sign) style.sign = flags.sign;
      if (flags.colormap) style.colormap = flags.colormap;
      if (flags.overlay) style.overlay = true;
      if (flags.alpha !== undefined) style.alpha = flags.alpha;
      return {
        caption: r.notes[i] ? `${r.title}\n${r.notes[i]}` : r.title,
        map: display[m][i],
        style,
      };
    }),
  }));
  return methodGrid(rows);
}

/** The methods named by `--method` (a name, a comma-separated list, or 'all'). */
export function parseMethods(value: string, flag = '--method'): string[] {
  if (value === 'all') return methodsInGridOrder().map((m) => m.name);
  const names = value.split(',').map((s) => s.trim());
  for (const name of names)
    if (!attributionMethod(name))
      throw new UsageError(
        `${flag}: unknown method '${name}'; expected ${ATTRIBUTION_METHODS.map((m) => m.name).join(', ')} or all`,
      );
  return names;
}

/** The methods `--method` names for `classifier`: for 'all', those that can explain it (attention methods need attention). */
export async function selectMethods(value: string, classifier: Classifier): Promise<string[]> {
  if (value !== 'all') return parseMethods(value);
  return (await methodsFor(classifier)).map((m) => m.name);
}

/** Targets from `--target` for `count` images: one for all or one per image; undefined for the predicted classes. */
export function targetsFrom(flag: string[] | undefined, count: number): string[] | undefined {
  if (!flag) return undefined;
  if (flag.length !== 1 && flag.length !== count)
    throw new UsageError(`--target: give one class or one per image (${count}), not ${flag.length}`);
  return flag.length === 1 ? new Array<string>(count).fill(flag[0]) : flag;
}

interface AttributeFlags extends ModelFlags, ProgressFlags, StyleFlags, MethodFlags {
  method: string;
  target?: string[];
  output: string;
  json?: boolean;
  saveMaps?: string;
}

/**
 * The `--save-maps` files: per run its maps as float32 .npy (N×3×H×W or N×H×W at the input's resolution, before any
 * colormap or clipping) and a JSON sidecar saying what they are; `path` itself for one method, else `path` with
 * `-METHOD` before `.npy` for each.
 */
export function savedMaps(
  path: string,
  runs: MethodRun[],
  images: string[],
  labels: { index: number; name: string }[],
  options: Record<string, unknown>,
): Record<string, Uint8Array | string> {
  const files: Record<string, Uint8Array | string> = {};
  for (const run of runs) {
    const base = savedMapsStem(path, runs.length, run.method);
    const entry = attributionMethod(run.method)!;
    const layer = run.details[0]?.layer;
    files[`${base}.npy`] = encodeNpy(run.maps.data, run.maps.dims);
    files[`${base}.json`] = `${JSON.stringify(
      {
        maps: basename(`${base}.npy`),
        dtype: 'float32',
        shape: run.maps.dims,
        layout: run.maps.dims.length === 4 ? 'N×C×H×W' : 'N×H×W',
        method: run.method,
        title: run.title,
        family: entry.family,
        paper: entry.paper,
        images,
        labels,
        ...(layer !== undefined && { layer }),
        options,
        details: run.details,
      },
      null,
      2,
    )}\n`;
  }
  return files;
}

/** The `--save-maps` file name without `.npy` for `method` when `count` methods run: `path`'s, or with `-METHOD` added. */
export function savedMapsStem(path: string, count: number, method: string): string {
  const stem = path.replace(/\.npy$/i, '');
  return count === 1 ? stem : `${stem}-${method}`;
}

/** Bounds of the numeric method settings: `attribute`'s and `evaluate`'s flags, and `benchmark`'s method options. */
const SETTING_BOUNDS: Partial<Record<keyof MethodSettings, NumberBounds>> = {
  samples: { integer: true, min: 1, max: MAX_COUNT },
  masks: { integer: true, min: 1, max: MAX_COUNT },
  noiseLevel: { min: 0 },
  steps: { integer: true, min: 1, max: MAX_COUNT },
  window: { integer: true, min: 1 },
  stride: { integer: true, min: 1 },
  discardRatio: { min: 0, below: 1 },
  batchSize: { integer: true, min: 1 },
  seed: { integer: true },
};

/** The values of the method settings that name a variant. */
const SETTING_CHOICES: Partial<Record<keyof MethodSettings, readonly string[]>> = {
  baseline: ['black', 'blur', 'uniform'],
  rule: ['riemann', 'gauss-legendre'],
  headFusion: ['mean', 'max', 'min'],
};

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The parser of a numeric method setting's flag (`--noise-level` for noiseLevel). */
const settingFlag = (key: keyof MethodSettings) => numberFlag(`--${kebab(key)}`, SETTING_BOUNDS[key]);

/**
 * Checks the options of `benchmark --methods` entries (`ig[steps=32]`) with the bounds and choices of the same
 * settings' flags, so a bad value fails before any work. Throws a UsageError naming the method and option.
 */
export function checkMethodOptions(methods: Spec[]): void {
  for (const m of methods)
    for (const [key, value] of Object.entries(m.options)) {
      const name = `${m.name}: ${kebab(key)}`;
      const bounds = SETTING_BOUNDS[key as keyof MethodSettings];
      const choices = SETTING_CHOICES[key as keyof MethodSettings];
      if (bounds) numberFlag(name, bounds)(String(value));
      if (choices && !choices.includes(value as string))
        throw new UsageError(`${name} must be one of ${choices.join(', ')}, got '${String(value)}'`);
    }
}

/** Adds the method settings shared by `attribute` and `evaluate`. */
export function withMethodOptions(cmd: Command): Command {
  return cmd
    .option(
      '-t, --target <name|index|wnid...>',
      'class to explain, one per image or one for all (default: predicted)',
    )
    .option(
      '--layer <path>',
      'CAM layer by module path or tensor name (default: the last spatial layer before the classifier)',
    )
    .addOption(
      new Option(
        '--samples <n>',
        'samples: SmoothGrad/VarGrad noisy copies (default 25), GradientSHAP points (50), KernelSHAP/LIME model runs (500)',
      ).argParser(settingFlag('samples')),
    )
    .addOption(
      new Option('--masks <n>', 'RISE random masks per image (default 4000)').argParser(settingFlag('masks')),
    )
    .option(
      '--feature-mask <file.npy>',
      'KernelSHAP/LIME features: integer labels H×W (or N×H×W) in the input resolution (default: SLIC superpixels as scikit-image makes them, about 50 to 90 at 224×224)',
    )
    .addOption(
      new Option(
        '--noise-level <f>',
        'SmoothGrad/VarGrad noise σ as a fraction of the image range (default 0.15)',
      ).argParser(settingFlag('noiseLevel')),
    )
    .addOption(
      new Option('--steps <n>', 'Integrated Gradients path points (default 50)').argParser(
        settingFlag('steps'),
      ),
    )
    .addOption(
      new Option(
        '--baseline <kind>',
        "Integrated Gradients' baseline, DeepLIFT's reference (default black)",
      ).choices(SETTING_CHOICES.baseline!),
    )
    .addOption(
      new Option('--rule <rule>', 'Integrated Gradients quadrature (default gauss-legendre)').choices(
        SETTING_CHOICES.rule!,
      ),
    )
    .addOption(
      new Option('--window <px>', 'occlusion square side (default 32)').argParser(settingFlag('window')),
    )
    .addOption(new Option('--stride <px>', 'occlusion stride (default 16)').argParser(settingFlag('stride')))
    .addOption(
      new Option('--head-fusion <how>', 'attention rollout: merge heads by (default mean)').choices(
        SETTING_CHOICES.headFusion!,
      ),
    )
    .addOption(
      new Option(
        '--discard-ratio <f>',
        'attention rollout: fraction of smallest attention weights dropped per layer, in [0, 1) (default 0)',
      ).argParser(settingFlag('discardRatio')),
    )
    .addOption(
      new Option('--batch-size <n>', 'inputs per model run (bounds memory)').argParser(
        settingFlag('batchSize'),
      ),
    )
    .addOption(
      new Option('--seed <n>', 'seed of every random draw: noise, samples, masks (default 0)').argParser(
        settingFlag('seed'),
      ),
    );
}

/** Method flags as parsed: the settings, with the feature mask still a file name. */
export type MethodFlags = Omit<MethodSettings, 'onStep' | 'signal' | 'featureMask'> & {
  featureMask?: string;
};

/** A feature mask file for images of `dims` (N×3×H×W): H×W, 1×H×W or N×H×W integers. Throws an NpyError naming the file. */
function readFeatureMask(path: string, dims: number[]): Tensor {
  const [n, , h, w] = dims;
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new NpyError(
      `--feature-mask ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
  const array = decodeNpy(bytes, `--feature-mask ${path}`);
  const d = array.dims.length === 2 ? [1, ...array.dims] : array.dims;
  if (d.length !== 3 || d[1] !== h || d[2] !== w || (d[0] !== 1 && d[0] !== n))
    throw new NpyError(
      `--feature-mask ${path}: a feature mask of shape (${array.dims.join(', ')}), expected (${h}, ${w}) or (${n}, ${h}, ${w}) for these images`,
    );
  if (!array.data.every(Number.isInteger))
    throw new NpyError(`--feature-mask ${path}: feature mask values must be integers (labels)`);
  return { data: Float32Array.from(array.data), dims: d };
}

/** The method settings from parsed flags, for images of `dims` (reads `--feature-mask`). */
export function settingsFrom(flags: MethodFlags, dims: number[]): MethodSettings {
  const { layer, samples, noiseLevel, steps, baseline, rule, window, stride, batchSize, seed, masks } = flags;
  const { headFusion, discardRatio } = flags;
  const featureMask = flags.featureMask === undefined ? undefined : readFeatureMask(flags.featureMask, dims);
  return {
    layer,
    samples,
    noiseLevel,
    steps,
    baseline,
    rule,
    window,
    stride,
    batchSize,
    seed,
    headFusion,
    discardRatio,
    masks,
    featureMask,
  };
}

/** Runs `methods` one after another with a progress bar each and an abort signal. */
export async function runMethods(
  classifier: Classifier,
  methods: string[],
  images: Tensor,
  labels: number[],
  settings: MethodSettings,
  flags: ProgressFlags,
  signal: AbortSignal,
): Promise<MethodRun[]> {
  const runs: MethodRun[] = [];
  for (const method of methods) {
    let bar: ReturnType<typeof progressBar> | undefined;
    try {
      runs.push(
        await runMethod(classifier, method, images, labels, {
          ...settings,
          signal,
          onStep: (done, total) => {
            bar ??= progressBar(total, method, flags);
            bar.update(done);
          },
        }),
      );
    } finally {
      bar?.stop();
    }
  }
  return runs;
}

// The report's settings: fewer samples, path points, coalitions and masks than the defaults, so that the whole report
// stays quick; the text says so.
export const REPORT_SETTINGS: Record<string, MethodSettings> = {
  smoothgrad: { samples: 10 },
  vargrad: { samples: 10 },
  ig: { steps: 20 },
  'gradient-shap': { samples: 20 },
  'kernel-shap': { samples: 100 },
  lime: { samples: 100 },
  rise: { masks: 250 },
};

const FAMILY_TITLES: Record<MethodFamily, string> = {
  gradient: 'Gradient methods',
  cam: 'Class activation maps',
  relevance: 'Relevance propagation',
  perturbation: 'Perturbation methods',
  attention: 'Attention',
};

/**
 * The methods `netvis report` compares by default: each family's cheap ones, so the report stays quick (Score-CAM's
 * forward pass per channel, Ablation-CAM, VarGrad, GradientSHAP, LIME and the rest come with `--methods all`).
 */
export const REPORT_METHODS = [
  'saliency',
  'smoothgrad',
  'ig',
  'input-x-gradient',
  'guided-backprop',
  'gradcam',
  'gradcam++',
  'layercam',
  'eigencam',
  'fullgrad',
  'lrp-epsilon-plus-flat',
  'deeplift',
  'occlusion',
  'kernel-shap',
  'rise',
  'rollout',
  'attention-grad',
];

/**
 * The methods `netvis report --methods VALUE` runs on `classifier`, in grid order: 'default' (REPORT_METHODS, those
 * registered and usable on the model), 'all' (every method that can explain it), or a comma-separated list.
 * Throws UsageError for an unknown name, ModelError for a method that cannot explain this model.
 */
export async function reportMethods(
  value: string,
  classifier: Classifier,
): Promise<AttributionMethodEntry[]> {
  const usable = await methodsFor(classifier);
  if (value === 'all') return usable;
  if (value === 'default') return usable.filter((m) => REPORT_METHODS.includes(m.name));
  const wanted = parseMethods(value, '--methods');
  const missing = wanted.filter((name) => !usable.some((m) => m.name === name));
  if (missing.length)
    throw new ModelError(
      `--methods: ${missing.join(', ')} cannot explain ${classifier.source}` +
        (missing.some((n) => n === 'rollout' || n === 'attention-grad')
          ? ' (attention methods need global attention layers)'
          : '') +
        `; it takes ${usable.map((m) => m.name).join(', ')}`,
    );
  return usable.filter((m) => wanted.includes(m.name));
}

/** The figure file of a family's grid in the report. */
export const reportFigure = (family: MethodFamily): string => `attribution-${family}.png`;

/**
 * The report's attribution section: `entries` (from reportMethods) on its images, one grid per family
 * (`reportFigure(family)`); `onMethod` is called as each method starts (fraction 0) and as it reports its own steps
 * (the fraction of them done).
 */
export async function attributionReportSection(
  classifier: Classifier,
  entries: AttributionMethodEntry[],
  images: Tensor,
  crops: RgbImage[],
  labels: number[],
  signal: AbortSignal,
  onMethod: (index: number, entry: AttributionMethodEntry, fraction: number) => void = () => {},
): Promise<{ section: ReportSection; files: Record<string, Uint8Array>; summary: Record<string, unknown> }> {
  const runs: MethodRun[] = [];
  for (const [i, m] of entries.entries()) {
    onMethod(i, m, 0);
    runs.push(
      await runMethod(classifier, m.name, images, labels, {
        ...REPORT_SETTINGS[m.name],
        signal,
        onStep: (done, total) => onMethod(i, m, total > 0 ? done / total : 0),
      }),
    );
  }
  const captions = labels.map((l) => classifier.labels.name(l));
  const files: Record<string, Uint8Array> = {};
  const figures: ReportSection['figures'] = [];
  for (const family of METHOD_FAMILIES) {
    const inFamily = runs.filter((_, i) => entries[i].family === family);
    if (!inFamily.length) continue;
    const src = reportFigure(family);
    files[src] = await comparisonGrid(crops, captions, inFamily, { clip: 99 });
    const named = entries
      .filter((e) => e.family === family)
      .map((e) => `${e.title} (${e.paper})`)
      .join(', ');
    figures.push({
      src,
      alt: `Each image followed by its maps from ${inFamily.length} ${FAMILY_TITLES[family].toLowerCase()}`,
      caption: `${FAMILY_TITLES[family]}. Per image: the image and its class, then ${named}.`,
    });
  }
  const gaps = runs.find((r) => r.method === 'ig')?.details.map((d) => Math.abs(d.completenessGap as number));
  const layer = runs.find((r) => typeof r.details[0]?.layer === 'string')?.details[0].layer as
    string | undefined;
  const attention = runs.find((r) => r.method === 'rollout')?.details[0].layers as string[] | undefined;
  const ran = new Set(entries.map((e) => e.name));
  // What the report runs with fewer samples than the method's default, in words, for the methods it ran.
  const lighter: [string, string][] = [
    ['smoothgrad', 'SmoothGrad 10 noisy samples (noise 15% of the image range) instead of 25'],
    ['vargrad', 'VarGrad 10 noisy samples instead of 25'],
    [
      'ig',
      `Integrated Gradients 20 Gauss-Legendre points instead of 50 (completeness gap at most ${
        gaps ? (Math.max(...gaps) * 100).toFixed(1) : '?'
      }% here)`,
    ],
    ['gradient-shap', 'GradientSHAP 20 points instead of 50'],
    ['kernel-shap', 'KernelSHAP 100 model runs on about 50 SLIC superpixels instead of 500'],
    ['lime', 'LIME 100 model runs instead of 500'],
    ['rise', 'RISE 250 masks instead of 4000'],
  ];
  const lightened = lighter.filter(([name]) => ran.has(name)).map(([, text]) => text);
  const text = [
    `The same images and classes explained by ${entries.length} methods, one figure per family (each method's ` +
      'paper in the caption)' +
      (entries.some((e) => e.family === 'relevance')
        ? ", LRP's under relevance propagated back layer by layer by its rules (Zennit's composites)."
        : '.') +
      (layer
        ? ` The class activation maps use ${layer}, the last spatial layer before the classifier, found in the graph.`
        : '') +
      (attention
        ? ` For this transformer, the attention maps read its ${attention.length} attention layers: Attention Rollout, ` +
          'the attention flowing into the class token, and gradient-weighted attention, the same flow weighted by the ' +
          'gradient of the class score.'
        : '') +
      ' `netvis report --methods all` adds the slower ones (Score-CAM, Ablation-CAM, LIME, …); `netvis attribute` runs any method with its full defaults.',
    (lightened.length ? `To keep the report quick: ${lightened.join('; ')}. ` : '') +
      (ran.has('occlusion') ? 'Occlusion slides a 32-pixel mean-colour square every 16 pixels. ' : '') +
      'Pixel maps are absolute values summed over the colour channels and clipped at their 99th percentile; class ' +
      'activation maps and RISE are blended on the image; LRP, occlusion, KernelSHAP and LIME are signed (red: the ' +
      'region supports the class, blue: it speaks against it).',
  ].join('\n\n');
  return {
    files,
    summary: {
      methods: entries.map((e) => e.name),
      ...(layer && { camLayer: layer }),
      ...(gaps && { igMaxGap: Math.max(...gaps) }),
    },
    section: { title: 'Attribution methods compared', text, figures },
  };
}

/** The methods by family, each with its title and paper, for `--help`. */
function methodsHelp(): string {
  const lines = ['', 'Methods (--method NAME):'];
  const width = Math.max(...ATTRIBUTION_METHODS.map((m) => m.name.length));
  for (const family of METHOD_FAMILIES) {
    const entries = methodsInGridOrder().filter((m) => m.family === family);
    if (!entries.length) continue;
    lines.push(`  ${FAMILY_TITLES[family]}:`);
    for (const m of entries) lines.push(`    ${m.name.padEnd(width)}  ${m.title} (${m.paper})`);
  }
  return `${lines.join('\n')}\n`;
}

/** `netvis attribute IMAGE... --method M`: attribution maps of one or more methods as a figure. */
export function attributeCommand(): Command {
  return withProgressOption(
    withModelOptions(
      withMethodOptions(
        new Command('attribute')
          .description(
            'attribution maps: which pixels a class score depends on, by one method or all side by side',
          )
          .argument('<images...>', 'JPEG, PNG or WebP files, or .npy preprocessed 1×3×H×W tensors')
          .option(
            '--method <name>',
            `${ATTRIBUTION_METHODS.map((m) => m.name).join('|')}, a comma-separated list, or all`,
            'saliency',
          ),
      )
        .addOption(new Option('--colormap <name>', 'colormap of every map').choices([...COLORMAP_NAMES]))
        .addOption(
          new Option('--sign <mode>', 'part of signed maps shown (default per method)').choices([
            'absolute',
            'positive',
            'negative',
            'all',
          ]),
        )
        .addOption(
          new Option('--clip <percentile>', 'percentile of the map mapped to the top colour')
            .default(99)
            .argParser(numberFlag('--clip', { above: 0, max: 100 })),
        )
        .option('--overlay', 'blend every map on its image')
        .addOption(
          new Option('--alpha <a>', 'overlay opacity at the strongest values (default 0.5)').argParser(
            numberFlag('--alpha', { min: 0, max: 1 }),
          ),
        )
        .option('-o, --output <file>', 'PNG figure to write', 'attribution.png')
        .option(
          '--save-maps <file.npy>',
          'also write the raw maps as NumPy float32 (N×3×H×W or N×H×W, before colormap and clipping) with a JSON sidecar; one file per method (FILE-METHOD.npy) when several',
        )
        .option('--json', 'print per-image labels, scores, map statistics and method details as JSON')
        .addHelpText('after', methodsHelp),
    ),
  ).action(async (images: string[], flags: AttributeFlags) => {
    parseMethods(flags.method);
    const targets = targetsFrom(flags.target, images.length);
    if (flags.saveMaps !== undefined && !/\.npy$/i.test(flags.saveMaps))
      throw new UsageError(`--save-maps: give a file name ending in .npy, got '${flags.saveMaps}'`);
    const decoded = await readImages(images);
    const classifier = await classifierFrom(flags);
    try {
      const methods = await selectMethods(flags.method, classifier);
      const mapStems = flags.saveMaps
        ? methods.map((m) => savedMapsStem(flags.saveMaps!, methods.length, m))
        : [];
      const outputs = await planOutputs([
        { flag: '-o', path: flags.output, format: 'png' },
        ...mapStems.flatMap((stem) => [
          { flag: '--save-maps', path: `${stem}.npy`, format: 'npy' as const },
          { flag: '--save-maps', path: `${stem}.json`, format: 'json' as const },
        ]),
      ]);
      const { tensor, crops } = imageBatch(decoded, classifier.preprocessing);
      const settings = settingsFrom(flags, tensor.dims);
      const { labels, scores } = await resolveTargets(classifier, tensor, targets, 16, 'attribute');
      const runs = await withInterrupt((signal) =>
        runMethods(classifier, methods, tensor, labels, settings, flags, signal),
      );
      const captions = labels.map((l) => classifier.labels.name(l));
      const png = await comparisonGrid(crops, captions, runs, flags);
      const options = Object.fromEntries(
        Object.entries({ ...settings, featureMask: flags.featureMask }).filter(([, v]) => v !== undefined),
      );
      const named = labels.map((index, i) => ({ index, name: captions[i] }));
      const saved = flags.saveMaps ? savedMaps(flags.saveMaps, runs, images, named, options) : {};
      await outputs.write({ [flags.output]: png, ...saved });
      const mapFiles = Object.keys(saved).filter((f) => f.endsWith('.npy'));
      const display = runs.map((r) => displayMaps(r, flags.sign));
      const rows = images.map((image, i) => ({
        image,
        label: { index: labels[i], name: captions[i], wnid: classifier.labels.classes[labels[i]].wnid },
        score: scores[i],
        methods: Object.fromEntries(
          runs.map((r, m) => [r.method, { map: mapStats(display[m][i]), ...r.details[i] }]),
        ),
      }));
      if (flags.json)
        printJson({ output: flags.output, ...(flags.saveMaps && { maps: mapFiles }), methods, images: rows });
      else {
        const layers = [...new Set(runs.flatMap((r) => r.details.map((d) => d.layer).filter(Boolean)))];
        const note = layers.length ? ` (CAM layer ${layers.join(', ')})` : '';
        const maps = mapFiles.length ? `; maps in ${mapFiles.join(', ')} with JSON sidecars` : '';
        process.stdout.write(`wrote ${flags.output}${note}${maps}\n`);
      }
    } finally {
      await classifier.dispose();
    }
  });
}
