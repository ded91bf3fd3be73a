import { readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { imageBatch, readImages } from '../image/load.js';
import { deprocess } from '../image/preprocess.js';
import { makeFoolingImage } from '../methods/adversarial/fooling.js';
import { METHOD_FAMILIES, methodCost } from '../methods/attribution/registry.js';
import { saliency } from '../methods/attribution/saliency.js';
import { argmaxRows } from '../methods/common.js';
import type { Classifier } from '../model/classifier.js';
import { sampleImageDir } from '../model/find.js';
import { encodeGif } from '../render/animation.js';
import { foolingFigure, saliencyFigure } from '../render/figure.js';
import { renderReportHtml, type ReportSection } from '../render/report.js';
import { sliceBatch } from '../tensor.js';
import {
  attributionReportSection,
  parseMethods,
  REPORT_SETTINGS,
  reportFigure,
  reportMethods,
} from './attribute.js';
import { renderClassVisualization } from './classviz.js';
import { UsageError } from './errors.js';
import {
  classifierFrom,
  planOutputs,
  positiveInt,
  printJson,
  progressBar,
  withInterrupt,
  withModelOptions,
  withProgressOption,
  type ModelFlags,
  type OutputFormat,
  type ProgressFlags,
} from './shared.js';

interface ReportFlags extends ModelFlags, ProgressFlags {
  out: string;
  images?: string;
  iterations: number;
  methods: string;
  json?: boolean;
}

const IMAGE_FILE = /\.(jpe?g|png|webp)$/i;
const SALIENCY_IMAGES = 5;
const FOOLING_TARGET = 'stingray';
const CLASSVIZ_CLASSES = ['tarantula', 'electric guitar'];
// Work estimates for the progress bar, in batched forward passes (see AttributionMethodEntry.cost): a saliency map
// is one gradient per image; the fooling image a few dozen single-image steps at most; a class-visualization step
// (one single-image gradient, then jitter, blur and clamping in JavaScript) took as long as about 7 (27 % of a
// 26 s report for its 200 steps).
const SALIENCY_WORK = 3;
const FOOLING_WORK = 40;
const CLASSVIZ_STEP_WORK = 7;

/** The first five images of a folder (sorted by name), or the files given. */
function pickImages(source: string): string[] {
  const path = resolve(source);
  let folder: boolean;
  try {
    folder = statSync(path).isDirectory();
  } catch {
    throw new UsageError(`--images ${source}: no such folder or file`);
  }
  const files = folder
    ? readdirSync(path)
        .filter((f) => IMAGE_FILE.test(f))
        .sort()
        .map((f) => join(path, f))
    : [path];
  if (files.length === 0) throw new UsageError(`${path}: no JPEG, PNG or WebP images`);
  return files.slice(0, SALIENCY_IMAGES);
}

/** The class an image file's name says (ImageNet's `WNID_name.JPEG`), else undefined. */
function labelFromName(classifier: Classifier, file: string): number | undefined {
  const wnid = /^(n\d{8})_/.exec(basename(file))?.[1];
  if (!wnid) return undefined;
  try {
    return classifier.labels.resolve(wnid).index;
  } catch {
    return undefined;
  }
}

const slug = (name: string) => name.toLowerCase().replace(/[^a-z0-9]+/g, '-');

// The report's files besides the attribution grids (one per family of the methods run), in the order they are put in
// place: index.html last, so a folder with an index is complete.
const REPORT_FILES: [string, OutputFormat][] = [
  ['saliency.png', 'png'],
  ['saliency-overlay.png', 'png'],
  ['fooling.png', 'png'],
  ...CLASSVIZ_CLASSES.flatMap((name): [string, OutputFormat][] => [
    [`classviz-${slug(name)}.png`, 'png'],
    [`classviz-${slug(name)}.gif`, 'gif'],
  ]),
  ['index.html', 'html'],
];

/** `netvis report`: the CS231n network-visualization lab on sample images, as an HTML report with its figures. */
export function reportCommand(): Command {
  return withProgressOption(
    withModelOptions(
      new Command('report')
        .description(
          'reproduce the CS231n network-visualization lab: saliency, fooling image, class visualizations, as HTML',
        )
        .option('--out <dir>', 'folder for index.html and its figures', 'report')
        .option(
          '--images <dir|file>',
          'images for the saliency and fooling sections (default: the sample images netvis ships)',
        )
        .addOption(
          new Option('--iterations <n>', 'class-visualization steps')
            .default(100)
            .argParser(positiveInt('--iterations')),
        )
        .option(
          '--methods <list>',
          "attribution methods to compare: 'default' (each family's quick ones), 'all', or a comma-separated list (see netvis attribute --help)",
          'default',
        )
        .option('--json', 'print a JSON summary instead of text'),
    ),
  ).action(async (flags: ReportFlags) => {
    const source = flags.images ?? sampleImageDir();
    if (!source) throw new UsageError('no sample images found: pass --images DIR (or set NETVIS_SAMPLES)');
    const files = pickImages(source);
    if (flags.methods !== 'default' && flags.methods !== 'all') parseMethods(flags.methods, '--methods');
    const out = resolve(flags.out);
    const plan = (names: [string, OutputFormat][]) =>
      planOutputs(
        names.map(([name, format]) => ({ flag: '--out', path: join(out, name), format })),
        { flag: '--out', path: out },
      );
    await plan(REPORT_FILES); // fails at once, before the model loads, for an --out that cannot be written
    const decoded = await readImages(files);
    const classifier = await classifierFrom(flags);
    const methods = await reportMethods(flags.methods, classifier);
    const families = METHOD_FAMILIES.filter((f) => methods.some((m) => m.family === f));
    const planned = await plan([
      ...families.map((f): [string, OutputFormat] => [reportFigure(f), 'png']),
      ...REPORT_FILES,
    ]);
    const started = Date.now();
    // Progress counts estimated work (batched forward passes), so that the ETA weighs RISE's thousand model runs
    // against a class-visualization step's one gradient.
    const n = files.length;
    const methodWork = methods.map((m) => n * methodCost(m, REPORT_SETTINGS[m.name]));
    const methodsBefore = (i: number) =>
      SALIENCY_WORK * n + methodWork.slice(0, i).reduce((a, b) => a + b, 0);
    const classvizStart = methodsBefore(methods.length) + FOOLING_WORK;
    const totalWork = classvizStart + CLASSVIZ_CLASSES.length * flags.iterations * CLASSVIZ_STEP_WORK;
    const bar = progressBar(totalWork, 'report', flags, { percent: true });
    try {
      const outputs: Record<string, Uint8Array | string> = {};
      const sections: ReportSection[] = [];
      const summary: Record<string, unknown> = {};
      await withInterrupt(async (signal) => {
        const { tensor, crops } = imageBatch(decoded, classifier.preprocessing);
        const predicted = argmaxRows(await classifier.logits(tensor));
        const labels = files.map((f, i) => labelFromName(classifier, f) ?? predicted[i]);
        const sal = await saliency(classifier, tensor, labels);
        const [, h, w] = sal.maps.dims;
        const maps = files.map((_, i) => sal.maps.data.slice(i * h * w, (i + 1) * h * w));
        const captions = labels.map((l) => classifier.labels.name(l));
        outputs['saliency.png'] = await saliencyFigure(crops, maps, captions);
        outputs['saliency-overlay.png'] = await saliencyFigure(crops, maps, captions, { overlay: true });
        sections.push({
          title: 'Saliency maps',
          text:
            "For each image, the gradient of the correct class's unnormalised score with respect to the pixels, " +
            'absolute value, maximum over the three colour channels (Simonyan et al. 2014). Bright pixels are those ' +
            'whose change would most change the score.',
          figures: [
            {
              src: 'saliency.png',
              alt: 'Images above their saliency maps',
              caption: 'Images (top) and saliency maps (bottom, hot colormap).',
            },
            {
              src: 'saliency-overlay.png',
              alt: 'Saliency maps blended on the images',
              caption: 'The same maps blended on the images.',
            },
          ],
        });
        summary.saliency = files.map((f, i) => ({ image: f, label: captions[i], score: sal.scores[i] }));
        bar.update(methodsBefore(0), 'saliency figure');

        const attribution = await attributionReportSection(
          classifier,
          methods,
          tensor,
          crops,
          labels,
          signal,
          (i, m, fraction) => bar.update(methodsBefore(i) + fraction * methodWork[i], m.title),
        );
        Object.assign(outputs, attribution.files);
        sections.push(attribution.section);
        summary.attribution = attribution.summary;

        const fool = await makeFoolingImage(classifier, sliceBatch(tensor, 0), FOOLING_TARGET, { signal });
        const [fooled] = deprocess(fool.image, classifier.preprocessing);
        outputs['fooling.png'] = await foolingFigure({
          original: crops[0],
          fooled,
          originalLabel: classifier.labels.name(fool.originalPrediction),
          fooledLabel: classifier.labels.name(fool.predicted),
        });
        sections.push({
          title: 'Fooling images',
          text:
            `Gradient ascent on the score of "${FOOLING_TARGET}" with steps of learning rate · g / ‖g‖₂, until the network ` +
            `predicts it (Szegedy et al. 2014). ${fool.success ? 'Fooled' : 'Not fooled'} after ${fool.iterations} steps; ` +
            `the change is at most ${fool.linfPixels.toFixed(1)} of 255 in any pixel (L2 ${fool.l2Pixels.toFixed(1)}).`,
          figures: [
            {
              src: 'fooling.png',
              alt: 'Original, fooling image and their difference',
              caption: 'Original | fooling image | difference | difference ×10 (mid-grey: no change).',
            },
          ],
        });
        summary.fooling = {
          image: files[0],
          target: FOOLING_TARGET,
          success: fool.success,
          iterations: fool.iterations,
          predicted: classifier.labels.name(fool.predicted),
          linfPixels: fool.linfPixels,
          l2Pixels: fool.l2Pixels,
        };
        bar.update(classvizStart, 'fooling');

        const figures = [];
        const vizSummary = [];
        let done = classvizStart;
        for (const name of CLASSVIZ_CLASSES) {
          const target = classifier.labels.resolve(name).index;
          const viz = await renderClassVisualization(classifier, target, {
            iterations: flags.iterations,
            keepAllFrames: true,
            signal,
            onStep: (t) => bar.update(done + t * CLASSVIZ_STEP_WORK, name),
          });
          done += flags.iterations * CLASSVIZ_STEP_WORK;
          outputs[`classviz-${slug(name)}.png`] = viz.figure;
          outputs[`classviz-${slug(name)}.gif`] = encodeGif(viz.allFrames, { delayMs: 80 });
          figures.push(
            {
              src: `classviz-${slug(name)}.png`,
              alt: `Class visualization of ${name}`,
              caption: `${name}: frames as the image evolves (the model's top-1 at the end: ${classifier.labels.name(viz.top1)}).`,
            },
            {
              src: `classviz-${slug(name)}.gif`,
              alt: `Animation of the class visualization of ${name}`,
              caption: `${name}: every iteration.`,
            },
          );
          vizSummary.push({
            class: name,
            top1: classifier.labels.name(viz.top1),
            finalScore: viz.result.scores.at(-1),
          });
        }
        sections.push({
          title: 'Class visualization',
          text:
            'Starting from random noise, gradient ascent on s_y(I) − λ‖I‖₂² with random jitter, clamping to valid pixels ' +
            "and a Gaussian blur every 10 steps (Simonyan et al. 2014; Yosinski et al. 2015), with CS231n's settings " +
            `(λ = 1e-3, learning rate 25, ${flags.iterations} iterations, seed 0).`,
          figures,
        });
        summary.classVisualization = vizSummary;
      }).finally(() => bar.stop());
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      outputs['index.html'] = renderReportHtml({
        title: 'netvis: what SqueezeNet sees',
        meta: {
          Model: classifier.source,
          Images: files.map((f) => basename(f)).join(', '),
          'Run time': `${seconds} s`,
          Generated: new Date().toISOString(),
        },
        sections,
      });
      await planned.write(
        Object.fromEntries(Object.entries(outputs).map(([name, data]) => [join(out, name), data])),
      );
      if (flags.json)
        printJson({
          report: join(out, 'index.html'),
          files: Object.keys(outputs),
          seconds: Number(seconds),
          ...summary,
        });
      else
        process.stdout.write(
          `wrote ${join(out, 'index.html')} (${Object.keys(outputs).length} files, ${seconds} s)\n`,
        );
    } finally {
      await classifier.dispose();
    }
  });
}
