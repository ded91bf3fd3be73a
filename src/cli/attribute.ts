import { Command, Option } from 'commander';
import { loadImageBatch } from '../image/load.js';
import type { RgbImage } from '../image/types.js';
import type { IntegrationRule } from '../methods/attribution/integrated-gradients.js';
import {
  ATTRIBUTION_METHODS,
  attributionMethod,
  methodsInGridOrder,
  type MethodSettings,
} from '../methods/attribution/registry.js';
import { channelSum, resolveTargets } from '../methods/attribution/support.js';
import type { Classifier } from '../model/classifier.js';
import { COLORMAP_NAMES, type ColormapName, type SignMode } from '../render/colormap.js';
import { methodGrid, type MapStyle, type MethodRow } from '../render/method-grid.js';
import type { ReportSection } from '../render/report.js';
import type { Tensor } from '../tensor.js';
import { UsageError } from './errors.js';
import {
  mapStats,
  classifierFrom,
  finiteNumber,
  positiveInt,
  printJson,
  progressBar,
  withInterrupt,
  withModelOptions,
  withProgressOption,
  writeOutputs,
  type ModelFlags,
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
export function parseMethods(value: string): string[] {
  if (value === 'all') return methodsInGridOrder().map((m) => m.name);
  const names = value.split(',').map((s) => s.trim());
  for (const name of names)
    if (!attributionMethod(name))
      throw new UsageError(
        `--method: unknown method '${name}'; expected ${ATTRIBUTION_METHODS.map((m) => m.name).join(', ')} or all`,
      );
  return names;
}

/** Targets from `--target` for `count` images: one for all or one per image; undefined for the predicted classes. */
export function targetsFrom(flag: string[] | undefined, count: number): string[] | undefined {
  if (!flag) return undefined;
  if (flag.length !== 1 && flag.length !== count)
    throw new UsageError(`--target: give one class or one per image (${count}), not ${flag.length}`);
  return flag.length === 1 ? new Array<string>(count).fill(flag[0]) : flag;
}

interface AttributeFlags extends ModelFlags, ProgressFlags, StyleFlags {
  method: string;
  target?: string[];
  layer?: string;
  samples?: number;
  noiseLevel?: number;
  steps?: number;
  baseline?: 'black' | 'blur' | 'uniform';
  rule?: IntegrationRule;
  window?: number;
  stride?: number;
  batchSize?: number;
  seed?: number;
  output: string;
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
      'Grad-CAM layer by module path or tensor name (default: the last spatial layer)',
    )
    .addOption(
      new Option('--samples <n>', 'SmoothGrad/VarGrad noisy samples (default 25)').argParser(
        positiveInt('--samples'),
      ),
    )
    .addOption(
      new Option(
        '--noise-level <f>',
        'SmoothGrad/VarGrad noise σ as a fraction of the image range (default 0.15)',
      ).argParser(finiteNumber('--noise-level')),
    )
    .addOption(
      new Option('--steps <n>', 'Integrated Gradients path points (default 50)').argParser(
        positiveInt('--steps'),
      ),
    )
    .addOption(
      new Option('--baseline <kind>', 'Integrated Gradients baseline (default black)').choices([
        'black',
        'blur',
        'uniform',
      ]),
    )
    .addOption(
      new Option('--rule <rule>', 'Integrated Gradients quadrature (default gauss-legendre)').choices([
        'riemann',
        'gauss-legendre',
      ]),
    )
    .addOption(
      new Option('--window <px>', 'occlusion square side (default 32)').argParser(positiveInt('--window')),
    )
    .addOption(
      new Option('--stride <px>', 'occlusion stride (default 16)').argParser(positiveInt('--stride')),
    )
    .addOption(
      new Option('--batch-size <n>', 'inputs per model run (bounds memory)').argParser(
        positiveInt('--batch-size'),
      ),
    )
    .addOption(new Option('--seed <n>', 'seed of the noise (default 0)').argParser(finiteNumber('--seed')));
}

/** The method settings from parsed flags. */
export function settingsFrom(flags: Omit<MethodSettings, 'onStep' | 'signal'>): MethodSettings {
  const { layer, samples, noiseLevel, steps, baseline, rule, window, stride, batchSize, seed } = flags;
  return { layer, samples, noiseLevel, steps, baseline, rule, window, stride, batchSize, seed };
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

// The report's settings: fewer samples and path points than the defaults, so the whole report stays quick.
const REPORT_SETTINGS: MethodSettings = { samples: 10, steps: 20, window: 32, stride: 16 };

/** The report's attribution section: every method side by side on its images, as `attribution.png`. */
export async function attributionReportSection(
  classifier: Classifier,
  images: Tensor,
  crops: RgbImage[],
  labels: number[],
  signal: AbortSignal,
): Promise<{ section: ReportSection; files: Record<string, Uint8Array>; summary: Record<string, unknown> }> {
  const runs: MethodRun[] = [];
  const methods = methodsInGridOrder().map((m) => m.name);
  for (const method of methods)
    runs.push(await runMethod(classifier, method, images, labels, { ...REPORT_SETTINGS, signal }));
  const captions = labels.map((l) => classifier.labels.name(l));
  const png = await comparisonGrid(crops, captions, runs, { clip: 99 });
  const gaps = runs.find((r) => r.method === 'ig')!.details.map((d) => Math.abs(d.completenessGap as number));
  const layer = runs.find((r) => r.method === 'gradcam')!.details[0].layer as string;
  const worstGap = (Math.max(...gaps) * 100).toFixed(1);
  return {
    files: { 'attribution.png': png },
    summary: { methods, gradCamLayer: layer, igMaxGap: Math.max(...gaps) },
    section: {
      title: 'Attribution methods compared',
      text:
        'The same images and classes explained by eleven methods: the saliency map above; SmoothGrad (Smilkov et al. ' +
        '2017) and VarGrad (Adebayo et al. 2018), the mean and the variance of the gradient over noisy copies; ' +
        'Integrated Gradients (Sundararajan et al. 2017) from a black image; Input × Gradient; Guided Backprop ' +
        '(Springenberg et al. 2015) and the Deconvnet (Zeiler & Fergus 2014), the gradient with their ReLU rules; ' +
        `Grad-CAM (Selvaraju et al. 2017) and Grad-CAM++ (Chattopadhyay et al. 2018) at ${layer}, the last spatial ` +
        'layer before the classifier, found in the graph; Guided Grad-CAM; and Occlusion (Zeiler & Fergus 2014).\n\n' +
        'To keep the report quick, SmoothGrad and VarGrad use 10 noisy samples (noise 15% of the image range) instead ' +
        `of 25, and Integrated Gradients 20 Gauss-Legendre points instead of 50 (completeness gap at most ${worstGap}% ` +
        'here); occlusion slides a 32-pixel mean-colour square every 16 pixels. The other pixel maps are absolute values summed over ' +
        'the colour channels and clipped at their 99th percentile; the Grad-CAMs are blended on the image, and ' +
        'occlusion is signed (red: hiding the region lowers the score, blue: raises it).',
      figures: [
        {
          src: 'attribution.png',
          alt: 'Each image followed by its maps from eleven attribution methods',
          caption:
            'Per image: the image and its class, then Saliency, SmoothGrad, VarGrad, Integrated Gradients, ' +
            'Input × Gradient, Guided Backprop, Deconvnet, Grad-CAM, Grad-CAM++, Guided Grad-CAM and Occlusion.',
        },
      ],
    },
  };
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
          .argument('<images...>', 'JPEG, PNG or WebP files')
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
            .argParser(finiteNumber('--clip')),
        )
        .option('--overlay', 'blend every map on its image')
        .addOption(
          new Option('--alpha <a>', 'overlay opacity at the strongest values (default 0.5)').argParser(
            finiteNumber('--alpha'),
          ),
        )
        .option('-o, --output <file>', 'PNG figure to write', 'attribution.png')
        .option('--json', 'print per-image labels, scores, map statistics and method details as JSON'),
    ),
  ).action(async (images: string[], flags: AttributeFlags) => {
    const methods = parseMethods(flags.method);
    const targets = targetsFrom(flags.target, images.length);
    if (!(flags.clip > 0 && flags.clip <= 100))
      throw new UsageError(`--clip must be in (0, 100], got ${flags.clip}`);
    if (flags.alpha !== undefined && !(flags.alpha >= 0 && flags.alpha <= 1))
      throw new UsageError(`--alpha must be in [0, 1], got ${flags.alpha}`);
    if (flags.noiseLevel !== undefined && flags.noiseLevel < 0)
      throw new UsageError(`--noise-level must be ≥ 0, got ${flags.noiseLevel}`);
    const classifier = await classifierFrom(flags);
    try {
      const { tensor, crops } = await loadImageBatch(images, classifier.preprocessing);
      const { labels, scores } = await resolveTargets(classifier, tensor, targets, 16, 'attribute');
      const runs = await withInterrupt((signal) =>
        runMethods(classifier, methods, tensor, labels, settingsFrom(flags), flags, signal),
      );
      const captions = labels.map((l) => classifier.labels.name(l));
      const png = await comparisonGrid(crops, captions, runs, flags);
      await writeOutputs({ [flags.output]: png });
      const display = runs.map((r) => displayMaps(r, flags.sign));
      const rows = images.map((image, i) => ({
        image,
        label: { index: labels[i], name: captions[i] },
        score: scores[i],
        methods: Object.fromEntries(
          runs.map((r, m) => [r.method, { map: mapStats(display[m][i]), ...r.details[i] }]),
        ),
      }));
      if (flags.json) printJson({ output: flags.output, methods, images: rows });
      else {
        const layers = [...new Set(runs.flatMap((r) => r.details.map((d) => d.layer).filter(Boolean)))];
        const note = layers.length ? ` (Grad-CAM layer ${layers.join(', ')})` : '';
        process.stdout.write(`wrote ${flags.output}${note}\n`);
      }
    } finally {
      await classifier.dispose();
    }
  });
}
