import { Command, Option } from 'commander';
import { deprocess } from '../image/preprocess.js';
import { layerShapes, visualizeFeatures } from '../methods/featureviz/feature-visualization.js';
import {
  channelMean,
  classLogit,
  describeObjective,
  neuron,
  type Objective,
} from '../methods/featureviz/objectives.js';
import type { ParameterizationName } from '../methods/featureviz/parameterization.js';
import { gridFigure } from '../render/figure.js';
import { UsageError } from './errors.js';
import {
  classifierFrom,
  finiteNumber,
  nonNegativeNumber,
  numberFlag,
  planOutputs,
  positiveInt,
  positiveNumber,
  printJson,
  progressBar,
  seedFlag,
  withInterrupt,
  withModelOptions,
  withProgressOption,
  type ModelFlags,
  type ProgressFlags,
} from './shared.js';

interface FeaturevizFlags extends ModelFlags, ProgressFlags {
  layer?: string;
  channel?: number;
  neuron?: boolean;
  class?: string;
  grid?: Grid;
  batch: number;
  diversity?: number;
  param: ParameterizationName;
  decorrelate: boolean;
  transforms: boolean;
  iterations: number;
  lr: number;
  seed: number;
  l2: number;
  tv: number;
  blur: number;
  output: string;
  json?: boolean;
}

// All images of a run are one batch: its memory grows with their count.
const MAX_IMAGES = 64;

/** Rows × columns of a --grid of channels, filled row by row. */
interface Grid {
  rows: number;
  cols: number;
}

/** `--grid ROWSxCOLS` (e.g. 2x4) or `N` (N×N), at most MAX_IMAGES channels. */
function gridFlag(value: string): Grid {
  const m = /^\s*(\d+)\s*(?:[x×]\s*(\d+))?\s*$/i.exec(value);
  const rows = m ? Number(m[1]) : NaN;
  const cols = m ? Number(m[2] ?? m[1]) : NaN;
  if (!(rows >= 1 && cols >= 1 && rows * cols <= MAX_IMAGES))
    throw new UsageError(
      `--grid must be ROWSxCOLS (e.g. 2x4) or N for N×N, with 1 to ${MAX_IMAGES} channels in all, got '${value}'`,
    );
  return { rows, cols };
}

// The objectives the flags ask for, one per image.
function objectivesFrom(flags: FeaturevizFlags): Objective[] {
  const given = [flags.class !== undefined, flags.layer !== undefined].filter(Boolean).length;
  if (given !== 1) throw new UsageError('give either --class, or --layer with --channel or --grid');
  if (flags.class !== undefined) {
    if (flags.channel !== undefined || flags.grid !== undefined || flags.neuron)
      throw new UsageError('--channel, --grid and --neuron go with --layer, not --class');
    return new Array<Objective>(flags.batch).fill(classLogit(flags.class));
  }
  const layer = flags.layer!;
  const one = (c: number) => (flags.neuron ? neuron(layer, c) : channelMean(layer, c));
  if (flags.grid !== undefined) {
    if (flags.channel !== undefined) throw new UsageError('give --channel or --grid, not both');
    if (flags.batch !== 1) throw new UsageError('--batch does not go with --grid');
    return Array.from({ length: flags.grid.rows * flags.grid.cols }, (_, c) => one(c));
  }
  if (flags.channel === undefined) throw new UsageError('--layer needs --channel or --grid');
  return new Array<Objective>(flags.batch).fill(one(flags.channel));
}

/** `netvis featureviz --layer L --channel C` (or `--class NAME`, `--grid K`): Lucid-style feature visualization. */
export function featurevizCommand(): Command {
  return withProgressOption(
    withModelOptions(
      new Command('featureviz')
        .description(
          'feature visualization (Olah et al. 2017, Lucid): an image maximising a channel, neuron or class logit',
        )
        .option('--layer <path>', 'layer by module path (e.g. features.9) or tensor name')
        .addOption(
          new Option('--channel <n>', 'channel of --layer to maximise (its mean)').argParser(
            numberFlag('--channel', { integer: true, min: 0 }),
          ),
        )
        .option('--neuron', 'maximise the centre neuron of the channel instead of its mean')
        .option('-c, --class <name|index|wnid>', 'maximise this class logit instead of a layer')
        .addOption(
          new Option(
            '--grid <RxC|N>',
            `visualize the first R×C channels of --layer, in R rows of C (N: N×N; at most ${MAX_IMAGES})`,
          ).argParser(gridFlag),
        )
        .addOption(
          new Option('--batch <n>', `images of the same objective (see --diversity; at most ${MAX_IMAGES})`)
            .default(1)
            .argParser(positiveInt('--batch', MAX_IMAGES)),
        )
        .addOption(
          new Option(
            '--diversity <weight>',
            "subtract weight × Lucid's diversity of the batch on --layer (needs --batch 2+)",
          ).argParser(finiteNumber('--diversity')),
        )
        .addOption(
          new Option('--param <name>', 'image parameterization').choices(['fft', 'pixel']).default('fft'),
        )
        .option('--no-decorrelate', 'optimise plain RGB instead of the decorrelated colour space')
        .option('--no-transforms', 'no random jitter, scale and rotation')
        .addOption(
          new Option('--iterations <n>', 'Adam steps').default(256).argParser(positiveInt('--iterations')),
        )
        .addOption(
          new Option('--lr <rate>', "Adam's step size (> 0)").default(0.05).argParser(positiveNumber('--lr')),
        )
        .addOption(
          new Option('--seed <n>', 'seed of the start and the transforms (an integer)')
            .default(0)
            .argParser(seedFlag()),
        )
        .addOption(
          new Option('--l2 <lambda>', 'weight of the L2 penalty (about grey, ≥ 0)')
            .default(0)
            .argParser(nonNegativeNumber('--l2')),
        )
        .addOption(
          new Option('--tv <lambda>', 'weight of the total-variation penalty (≥ 0)')
            .default(0)
            .argParser(nonNegativeNumber('--tv')),
        )
        .addOption(
          new Option('--blur <lambda>', 'weight of the blur penalty (≥ 0)')
            .default(0)
            .argParser(nonNegativeNumber('--blur')),
        )
        .option('-o, --output <file>', 'PNG figure of the visualizations', 'featureviz.png')
        .option('--json', 'print the result as JSON'),
    ),
  ).action(async (flags: FeaturevizFlags) => {
    const objectives = objectivesFrom(flags);
    if (flags.diversity !== undefined && (flags.layer === undefined || objectives.length < 2))
      throw new UsageError('--diversity needs --layer and a batch of at least 2 (--batch or --grid)');
    const outputs = await planOutputs([{ flag: '-o', path: flags.output, format: 'png' }]);
    const classifier = await classifierFrom(flags);
    try {
      const name = (i: number) => classifier.labels.name(i);
      if (flags.class !== undefined) classifier.labels.resolve(flags.class);
      if (flags.layer !== undefined) {
        const [channels] = (await layerShapes(classifier, [flags.layer], classifier.preprocessing.crop)).get(
          flags.layer,
        )!;
        const highest = flags.grid !== undefined ? objectives.length - 1 : flags.channel!;
        if (highest >= channels)
          throw new UsageError(
            `${flags.grid !== undefined ? `--grid ${flags.grid.rows}x${flags.grid.cols} (${objectives.length} channels)` : `--channel ${highest}`}: layer '${flags.layer}' has ${channels} channels (0 to ${channels - 1})`,
          );
      }
      const labels = objectives.map((o) => describeObjective(o, name));
      const what =
        labels.length === 1 ? labels[0] : `${labels.length} objectives (${labels[0]} … ${labels.at(-1)})`;
      const bar = progressBar(flags.iterations, `featureviz ${what}`, flags);
      const result = await withInterrupt((signal) =>
        visualizeFeatures(classifier, objectives, {
          param: flags.param,
          decorrelate: flags.decorrelate,
          transforms: flags.transforms ? undefined : false,
          iterations: flags.iterations,
          learningRate: flags.lr,
          seed: flags.seed,
          l2: flags.l2,
          tv: flags.tv,
          blur: flags.blur,
          diversity:
            flags.diversity === undefined ? undefined : { layer: flags.layer!, weight: flags.diversity },
          signal,
          onStep: (t, values) =>
            bar.update(
              t,
              values.length === 1
                ? `objective ${values[0].toFixed(2)}`
                : `mean objective ${(values.reduce((a, b) => a + b, 0) / values.length).toFixed(2)}`,
            ),
        }),
      ).finally(() => bar.stop());
      const images = deprocess(result.images, classifier.preprocessing);
      const tiles = images.map((image, i) => ({
        image,
        caption: `${labels[i]}\n${result.initialObjective[i].toFixed(2)} → ${result.finalObjective[i].toFixed(2)}`,
      }));
      // A grid in its rows and columns; a batch of one objective in rows of 8.
      const cols = flags.grid?.cols ?? 8;
      const rows = Array.from({ length: Math.ceil(tiles.length / cols) }, (_, r) =>
        tiles.slice(r * cols, (r + 1) * cols),
      );
      await outputs.write({ [flags.output]: await gridFigure(rows) });
      const summary = {
        objectives: labels,
        param: flags.param,
        iterations: flags.iterations,
        seed: flags.seed,
        initialObjective: result.initialObjective,
        finalObjective: result.finalObjective,
        ...(result.diversity === undefined ? {} : { diversity: result.diversity }),
        output: flags.output,
      };
      if (flags.json) printJson(summary);
      else {
        for (const [i, label] of labels.entries())
          process.stdout.write(
            `${label}: ${result.initialObjective[i].toFixed(3)} -> ${result.finalObjective[i].toFixed(3)}\n`,
          );
        process.stdout.write(`wrote ${flags.output}\n`);
      }
    } finally {
      await classifier.dispose();
    }
  });
}
