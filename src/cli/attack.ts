import { Command, Option } from 'commander';
import { deprocess } from '../image/preprocess.js';
import { imageBatch, readImages } from '../image/load.js';
import type { AttackResult, PixelUnits } from '../methods/adversarial/attack.js';
import { bim } from '../methods/adversarial/bim.js';
import { carliniWagnerL2 } from '../methods/adversarial/carlini-wagner.js';
import { deepFool } from '../methods/adversarial/deepfool.js';
import { fgsm } from '../methods/adversarial/fgsm.js';
import { pgd } from '../methods/adversarial/pgd.js';
import { pgdL2 } from '../methods/adversarial/pgd-l2.js';
import type { Classifier } from '../model/classifier.js';
import { differenceImage, gridFigure } from '../render/figure.js';
import { UsageError } from './errors.js';
import {
  classifierFrom,
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

/** Attack methods of `netvis attack`. */
export const ATTACK_METHODS = ['fgsm', 'bim', 'pgd', 'pgd-l2', 'deepfool', 'cw'] as const;
type Method = (typeof ATTACK_METHODS)[number];

const TITLES: Record<Method, string> = {
  fgsm: 'FGSM',
  bim: 'BIM',
  pgd: 'PGD (L∞)',
  'pgd-l2': 'PGD (L2)',
  deepfool: 'DeepFool',
  cw: 'Carlini-Wagner L2',
};

interface AttackFlags extends ModelFlags, ProgressFlags {
  method: Method;
  target?: string;
  eps?: number;
  stepSize?: number;
  steps?: number;
  units: PixelUnits;
  seed: number;
  randomStart: boolean;
  candidates?: number;
  confidence?: number;
  binarySteps?: number;
  output: string;
  json?: boolean;
}

/** The options of each method that a flag can set; others are refused. */
const FLAGS_FOR: Record<Method, (keyof AttackFlags)[]> = {
  fgsm: ['eps', 'target'],
  bim: ['eps', 'stepSize', 'steps', 'target'],
  pgd: ['eps', 'stepSize', 'steps', 'target'],
  'pgd-l2': ['eps', 'stepSize', 'steps', 'target'],
  deepfool: ['candidates', 'steps'],
  cw: ['steps', 'binarySteps', 'confidence', 'target'],
};
const FLAG_NAMES: Partial<Record<keyof AttackFlags, string>> = {
  eps: '--eps',
  stepSize: '--step-size',
  steps: '--steps',
  target: '--target',
  candidates: '--candidates',
  confidence: '--confidence',
  binarySteps: '--binary-steps',
};

function runAttack(
  classifier: Classifier,
  images: Parameters<typeof fgsm>[1],
  flags: AttackFlags,
  signal: AbortSignal,
  onStep: (done: number, total: number) => void,
): Promise<AttackResult[]> {
  const n = images.dims[0];
  const goal = flags.target === undefined ? {} : { targets: new Array<string>(n).fill(flags.target) };
  const run = { signal, onStep, units: flags.units, ...goal };
  const budget = { eps: flags.eps, stepSize: flags.stepSize, steps: flags.steps };
  switch (flags.method) {
    case 'fgsm':
      return fgsm(classifier, images, { ...run, eps: flags.eps });
    case 'bim':
      return bim(classifier, images, { ...run, ...budget });
    case 'pgd':
      return pgd(classifier, images, { ...run, ...budget, randomStart: flags.randomStart, seed: flags.seed });
    case 'pgd-l2':
      return pgdL2(classifier, images, {
        ...run,
        ...budget,
        randomStart: flags.randomStart,
        seed: flags.seed,
      });
    case 'deepfool':
      return deepFool(classifier, images, {
        signal,
        onStep,
        candidates: flags.candidates,
        maxIterations: flags.steps,
      });
    case 'cw':
      return carliniWagnerL2(classifier, images, {
        ...run,
        steps: flags.steps,
        binarySearchSteps: flags.binarySteps,
        confidence: flags.confidence,
      });
  }
}

/** `netvis attack IMAGE... --method M`: adversarial examples (FGSM, BIM, PGD L∞/L2, DeepFool, Carlini-Wagner L2). */
export function attackCommand(): Command {
  return withProgressOption(
    withModelOptions(
      new Command('attack')
        .description('adversarial examples: FGSM, BIM, PGD (L∞ or L2), DeepFool or Carlini-Wagner L2')
        .argument('<images...>', 'JPEG, PNG or WebP files')
        .addOption(new Option('--method <name>', 'attack').choices([...ATTACK_METHODS]).default('pgd'))
        .option('-t, --target <name|index|wnid>', 'class to reach (targeted attack); default: untargeted')
        .addOption(
          new Option('--eps <n>', 'budget ε ≥ 0 (L∞, or L2 for pgd-l2) in --units').argParser(
            nonNegativeNumber('--eps'),
          ),
        )
        .addOption(
          new Option('--step-size <n>', 'step length α > 0 in --units').argParser(
            positiveNumber('--step-size'),
          ),
        )
        .addOption(
          new Option(
            '--steps <n>',
            'gradient steps (deepfool: most iterations; cw: Adam steps per c)',
          ).argParser(positiveInt('--steps')),
        )
        .addOption(
          new Option('--units <units>', 'units of --eps and --step-size')
            .choices(['0-255', '0-1'])
            .default('0-255'),
        )
        .addOption(
          new Option('--seed <n>', 'seed of the random start (an integer)').default(0).argParser(seedFlag()),
        )
        .option('--no-random-start', 'pgd, pgd-l2: start at the original image')
        .addOption(
          new Option('--candidates <n>', 'deepfool: classes considered (at least 2)').argParser(
            numberFlag('--candidates', { integer: true, min: 2 }),
          ),
        )
        .addOption(
          new Option('--confidence <k>', 'cw: logit margin κ ≥ 0').argParser(
            nonNegativeNumber('--confidence'),
          ),
        )
        .addOption(
          new Option('--binary-steps <n>', 'cw: values of c tried').argParser(positiveInt('--binary-steps')),
        )
        .option(
          '-o, --output <file>',
          'PNG figure, a row per image: original | adversarial | difference | ×10',
          'attack.png',
        )
        .option('--json', 'print the results as JSON'),
    ),
  ).action(async (images: string[], flags: AttackFlags) => {
    const allowed = FLAGS_FOR[flags.method];
    for (const [key, name] of Object.entries(FLAG_NAMES) as [keyof AttackFlags, string][]) {
      if (flags[key] !== undefined && !allowed.includes(key))
        throw new UsageError(`${name} does not apply to --method ${flags.method}`);
    }
    const outputs = await planOutputs([{ flag: '-o', path: flags.output, format: 'png' }]);
    const decoded = await readImages(images);
    const classifier = await classifierFrom(flags);
    try {
      const target = flags.target === undefined ? undefined : classifier.labels.resolve(flags.target).index;
      if (flags.candidates !== undefined && flags.candidates > classifier.numClasses)
        throw new UsageError(`--candidates must be at most the model's ${classifier.numClasses} classes`);
      const { tensor, crops } = imageBatch(decoded, classifier.preprocessing);
      let bar: ReturnType<typeof progressBar> | undefined;
      const results = await withInterrupt((signal) =>
        runAttack(classifier, tensor, { ...flags, target: target?.toString() }, signal, (done, total) => {
          bar ??= progressBar(total, flags.method, flags);
          bar.update(done);
        }),
      ).finally(() => bar?.stop());
      const name = (i: number) => classifier.labels.name(i);
      const rows = results.map((r, i) => {
        const [adversarial] = deprocess(r.image, classifier.preprocessing);
        const original = crops[i];
        return [
          { image: original, caption: `Original\n${name(r.originalPrediction)}` },
          { image: adversarial, caption: `${TITLES[flags.method]}\n${name(r.predicted)}` },
          { image: differenceImage(original, adversarial), caption: 'Difference' },
          { image: differenceImage(original, adversarial, 10), caption: 'Difference ×10' },
        ];
      });
      await outputs.write({ [flags.output]: await gridFigure(rows) });
      const cls = (i: number) => ({ index: i, name: name(i) });
      const summary = {
        method: flags.method,
        output: flags.output,
        units: flags.units,
        results: results.map((r, i) => ({
          image: images[i],
          success: r.success,
          iterations: r.iterations,
          originalPrediction: cls(r.originalPrediction),
          predicted: cls(r.predicted),
          ...(r.target === undefined ? {} : { target: cls(r.target) }),
          linf: r.linf,
          l2: r.l2,
          linfPixels: r.linfPixels,
          l2Pixels: r.l2Pixels,
        })),
      };
      if (flags.json) printJson(summary);
      else {
        for (const [i, r] of results.entries())
          process.stdout.write(
            `${images[i]}: ${r.success ? 'fooled' : 'not fooled'}, ${name(r.originalPrediction)} -> ${name(r.predicted)} ` +
              `(L∞ ${r.linfPixels.toFixed(2)}, L2 ${r.l2Pixels.toFixed(1)} in 0-255 units)\n`,
          );
        process.stdout.write(`wrote ${flags.output}\n`);
      }
    } finally {
      await classifier.dispose();
    }
  });
}
