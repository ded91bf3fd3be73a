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

interface FeaturevizFlags extends ModelFlags, ProgressFlags {
  layer?: string;
  channel?: number;
  neuron?: boolean;
  class?: string;
  grid?: number;
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

const TILES_PER_ROW = 8;

function nonNegativeInt(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be an integer ≥ 0, got '${value}'`);
    return n;
  };
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
    return Array.from({ length: flags.grid }, (_, c) => one(c));
  }
  if (flags.channel === undefined) throw new UsageError('--layer needs --channel or --grid');
  return new Array<Objective>(flags.batch).fill(one(flags.channel));
}

const num = (flag: string) => finiteNumber(flag);

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
            nonNegativeInt('--channel'),
          ),
        )
        .option('--neuron', 'maximise the centre neuron of the channel instead of its mean')
        .option('-c, --class <name|index|wnid>', 'maximise this class logit instead of a layer')
        .addOption(
          new Option('--grid <k>', 'visualize the first k channels of --layer').argParser(
            positiveInt('--grid'),
          ),
        )
        .addOption(
          new Option('--batch <n>', 'images of the same objective (see --diversity)')
            .default(1)
            .argParser(positiveInt('--batch')),
        )
        .addOption(
          new Option(
            '--diversity <weight>',
            "subtract weight × Lucid's diversity of the batch on --layer (needs --batch 2+)",
          ).argParser(num('--diversity')),
        )
        .addOption(
          new Option('--param <name>', 'image parameterization').choices(['fft', 'pixel']).default('fft'),
        )
        .option('--no-decorrelate', 'optimise plain RGB instead of the decorrelated colour space')
        .option('--no-transforms', 'no random jitter, scale and rotation')
        .addOption(
          new Option('--iterations <n>', 'Adam steps').default(256).argParser(positiveInt('--iterations')),
        )
        .addOption(new Option('--lr <rate>', "Adam's step size").default(0.05).argParser(num('--lr')))
        .addOption(
          new Option('--seed <n>', 'seed of the start and the transforms')
            .default(0)
            .argParser(num('--seed')),
        )
        .addOption(
          new Option('--l2 <lambda>', 'weight of the L2 penalty (about grey)')
            .default(0)
            .argParser(num('--l2')),
        )
        .addOption(
          new Option('--tv <lambda>', 'weight of the total-variation penalty')
            .default(0)
            .argParser(num('--tv')),
        )
        .addOption(
          new Option('--blur <lambda>', 'weight of the blur penalty').default(0).argParser(num('--blur')),
        )
        .option('-o, --output <file>', 'PNG figure of the visualizations', 'featureviz.png')
        .option('--json', 'print the result as JSON'),
    ),
  ).action(async (flags: FeaturevizFlags) => {
    const objectives = objectivesFrom(flags);
    if (flags.diversity !== undefined && (flags.layer === undefined || objectives.length < 2))
      throw new UsageError('--diversity needs --layer and a batch of at least 2 (--batch or --grid)');
    const classifier = await classifierFrom(flags);
    try {
      const name = (i: number) => classifier.labels.name(i);
      if (flags.class !== undefined) classifier.labels.resolve(flags.class);
      if (flags.layer !== undefined) {
        const [channels] = (await layerShapes(classifier, [flags.layer], classifier.preprocessing.crop)).get(
          flags.layer,
        )!;
        const highest = flags.grid !== undefined ? flags.grid - 1 : flags.channel!;
        if (highest >= channels)
          throw new UsageError(
            `${flags.grid !== undefined ? `--grid ${flags.grid}` : `--channel ${highest}`}: layer '${flags.layer}' has ${channels} channels (0 to ${channels - 1})`,
          );
      }
      const labels = objectives.map((o) => describeObjective(o, name));
      const bar = progressBar(flags.iterations, `featureviz ${labels[0]}`, flags);
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
          onStep: (t, values) => bar.update(t, `objective ${values[0].toFixed(2)}`),
        }),
      ).finally(() => bar.stop());
      const images = deprocess(result.images, classifier.preprocessing);
      const tiles = images.map((image, i) => ({
        image,
        caption: `${labels[i]}\n${result.initialObjective[i].toFixed(2)} → ${result.finalObjective[i].toFixed(2)}`,
      }));
      const rows = Array.from({ length: Math.ceil(tiles.length / TILES_PER_ROW) }, (_, r) =>
        tiles.slice(r * TILES_PER_ROW, (r + 1) * TILES_PER_ROW),
      );
      await writeOutputs({ [flags.output]: await gridFigure(rows) });
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
