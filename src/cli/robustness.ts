import { basename } from 'node:path';
import { Command, Option } from 'commander';
import { imageBatch, readImages } from '../image/load.js';
import type { PixelUnits } from '../methods/adversarial/attack.js';
import {
  ATTACK_NORM,
  ROBUSTNESS_ATTACKS,
  robustnessCurve,
  type RobustnessAttack,
} from '../methods/adversarial/robustness.js';
import { linePlot } from '../render/plot.js';
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
  type ProgressFlags,
} from './shared.js';

interface RobustnessFlags extends ModelFlags, ProgressFlags {
  attack: RobustnessAttack;
  eps: number[];
  units: PixelUnits;
  steps?: number;
  labelsFrom: 'prediction' | 'filename';
  output: string;
  json?: boolean;
}

const TITLES: Record<RobustnessAttack, string> = {
  fgsm: 'FGSM',
  bim: 'BIM',
  pgd: 'PGD',
  'pgd-l2': 'PGD',
  deepfool: 'DeepFool',
  cw: 'Carlini-Wagner',
};

function epsList(value: string): number[] {
  const list = value.split(',').map((s) => Number(s.trim()));
  if (value.trim() === '' || list.some((e) => !(e >= 0 && Number.isFinite(e))))
    throw new UsageError(`--eps must be a comma-separated list of numbers ≥ 0, got '${value}'`);
  return list;
}

/** `netvis robustness IMAGES... --attack A --eps 0,1,2,4,8`: accuracy against an attack as its budget grows. */
export function robustnessCommand(): Command {
  return withProgressOption(
    withModelOptions(
      new Command('robustness')
        .description('robustness curve: accuracy over images against an attack at each budget ε, plotted')
        .argument('<images...>', 'JPEG, PNG or WebP files')
        .addOption(new Option('--attack <name>', 'attack').choices([...ROBUSTNESS_ATTACKS]).default('pgd'))
        .addOption(
          new Option(
            '--eps <list>',
            'budgets ε, comma-separated, in --units (L∞; L2 for pgd-l2, deepfool, cw)',
          )
            .default([0, 1, 2, 4, 8], '0,1,2,4,8')
            .argParser(epsList),
        )
        .addOption(new Option('--units <units>', 'units of --eps').choices(['0-255', '0-1']).default('0-255'))
        .addOption(
          new Option('--steps <n>', 'gradient steps of iterative attacks').argParser(positiveInt('--steps')),
        )
        .addOption(
          new Option(
            '--labels-from <source>',
            "true labels: the model's clean 'prediction', or the WordNet id a 'filename' starts with (n01774750_...)",
          )
            .choices(['prediction', 'filename'])
            .default('prediction'),
        )
        .option('-o, --output <file>', 'PNG plot of accuracy against ε', 'robustness.png')
        .option('--json', 'print the curve as JSON'),
    ),
  ).action(async (images: string[], flags: RobustnessFlags) => {
    const outputs = await planOutputs([{ flag: '-o', path: flags.output, format: 'png' }]);
    const decoded = await readImages(images);
    const classifier = await classifierFrom(flags);
    try {
      let labels: number[] | undefined;
      if (flags.labelsFrom === 'filename') {
        labels = images.map((path) => {
          const wnid = /^n\d{8}/.exec(basename(path))?.[0];
          if (!wnid)
            throw new UsageError(`${path}: the file name does not start with a WordNet id (n########)`);
          return classifier.labels.resolve(wnid).index;
        });
      }
      const { tensor } = imageBatch(decoded, classifier.preprocessing);
      const bar = progressBar(new Set(flags.eps).size, `robustness ${flags.attack}`, flags);
      const curve = await withInterrupt((signal) =>
        robustnessCurve(classifier, tensor, {
          attack: flags.attack,
          eps: flags.eps,
          units: flags.units,
          steps: flags.steps,
          labels,
          signal,
          onStep: (done) => bar.update(done),
        }),
      ).finally(() => bar.stop());
      const norm = ATTACK_NORM[flags.attack] === 'linf' ? 'L∞' : 'L2';
      // Without true labels, "accuracy" is how often the attacked prediction stays the clean one.
      const against =
        flags.labelsFrom === 'filename'
          ? 'the labels in the file names'
          : "the model's own predictions on the clean images";
      const png = await linePlot(
        [{ x: curve.eps, y: curve.accuracy, label: `${TITLES[flags.attack]} (${norm})` }],
        {
          title: `Robustness of ${basename(flags.model ?? 'squeezenet1_1', '.onnx')} on ${images.length} image${images.length === 1 ? '' : 's'}`,
          xLabel: `ε (${norm}, ${flags.units === '0-255' ? '0-255 pixel units' : '[0, 1] units'})`,
          yLabel: flags.labelsFrom === 'filename' ? 'accuracy' : 'agreement with clean predictions',
          yRange: [0, 1],
          xTicks: curve.eps,
          percent: true,
        },
      );
      await outputs.write({ [flags.output]: png });
      const summary = {
        attack: curve.attack,
        norm: curve.norm,
        units: curve.units,
        labelsFrom: flags.labelsFrom,
        accuracyAgainst: against,
        eps: curve.eps,
        accuracy: curve.accuracy,
        cleanAccuracy: curve.cleanAccuracy,
        images: images.map((image, i) => ({
          image,
          label: { index: curve.labels[i], name: classifier.labels.name(curve.labels[i]) },
          brokenAt: curve.brokenAt[i],
        })),
        output: flags.output,
      };
      if (flags.json) printJson(summary);
      else {
        process.stdout.write(
          `accuracy against ${against}${flags.labelsFrom === 'filename' ? '' : ' (--labels-from filename for true labels)'}:\n`,
        );
        for (const [i, e] of curve.eps.entries())
          process.stdout.write(`ε ${e}: accuracy ${(curve.accuracy[i] * 100).toFixed(1)} %\n`);
        process.stdout.write(`wrote ${flags.output}\n`);
      }
    } finally {
      await classifier.dispose();
    }
  });
}
