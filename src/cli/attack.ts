import { Command, Option } from 'commander';
import { deprocess } from '../image/preprocess.js';
import { loadImageBatch } from '../image/load.js';
import type { RgbImage } from '../image/types.js';
import { apgd, apgdTargeted } from '../methods/adversarial/apgd.js';
import { pixelChange, type AttackResult, type PixelUnits } from '../methods/adversarial/attack.js';
import {
  autoAttack,
  type AutoAttackStageReport,
  type AutoAttackVersion,
} from '../methods/adversarial/autoattack.js';
import { bim } from '../methods/adversarial/bim.js';
import type { BudgetNorm } from '../methods/adversarial/budgeted.js';
import { carliniWagnerL2 } from '../methods/adversarial/carlini-wagner.js';
import { deepFool } from '../methods/adversarial/deepfool.js';
import { fab } from '../methods/adversarial/fab.js';
import { fgsm } from '../methods/adversarial/fgsm.js';
import { pgd } from '../methods/adversarial/pgd.js';
import { pgdL2 } from '../methods/adversarial/pgd-l2.js';
import { square } from '../methods/adversarial/square.js';
import {
  foolingRate,
  perturbedImage,
  randomPerturbation,
  universalPerturbation,
} from '../methods/adversarial/universal.js';
import type { Classifier } from '../model/classifier.js';
import { ROBUSTNESS_ATTACKS } from '../methods/adversarial/robustness.js';
import { sliceBatch } from '../tensor.js';
import { differenceImage, gridFigure, type Tile } from '../render/figure.js';
import { encodeNpy } from '../util/npy.js';
import { checkRounded, fileStems, type RoundedCheck } from './adversarial-files.js';
import { withAutoAttackOptions } from './attack-options.js';
import { UsageError } from './errors.js';
import { imageInputs } from './image-inputs.js';
import {
  classifierFrom,
  nonNegativeNumber,
  numberFlag,
  planOutputs,
  positiveInt,
  positiveNumber,
  printJson,
  progressBar,
  type OutputSet,
  seedFlag,
  withInterrupt,
  withModelOptions,
  withProgressOption,
  type ModelFlags,
  type ProgressFlags,
} from './shared.js';

/** Attack methods of `netvis attack`. */
export const ATTACK_METHODS = [...ROBUSTNESS_ATTACKS, 'universal'] as const;
type Method = (typeof ATTACK_METHODS)[number];

const TITLES: Record<Method, string> = {
  fgsm: 'FGSM',
  bim: 'BIM',
  pgd: 'PGD (L∞)',
  'pgd-l2': 'PGD (L2)',
  deepfool: 'DeepFool',
  cw: 'Carlini-Wagner L2',
  'apgd-ce': 'APGD-CE',
  'apgd-dlr': 'APGD-DLR',
  'apgd-t': 'APGD-T',
  fab: 'FAB-T',
  square: 'Square',
  autoattack: 'AutoAttack',
  universal: 'Universal',
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
  norm?: BudgetNorm;
  targetClasses?: number;
  queries?: number;
  autoattackVersion?: AutoAttackVersion;
  heldOut?: string[];
  perturbation?: string;
  saveAdversarial?: string;
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
  'apgd-ce': ['eps', 'steps', 'norm'],
  'apgd-dlr': ['eps', 'steps', 'norm'],
  'apgd-t': ['eps', 'steps', 'norm', 'targetClasses'],
  fab: ['eps', 'steps', 'norm', 'targetClasses'],
  square: ['eps', 'norm', 'queries'],
  autoattack: ['eps', 'steps', 'norm', 'targetClasses', 'queries', 'autoattackVersion'],
  universal: ['eps', 'norm', 'heldOut', 'perturbation'],
};
const FLAG_NAMES: Partial<Record<keyof AttackFlags, string>> = {
  eps: '--eps',
  stepSize: '--step-size',
  steps: '--steps',
  target: '--target',
  candidates: '--candidates',
  confidence: '--confidence',
  binarySteps: '--binary-steps',
  norm: '--norm',
  targetClasses: '--target-classes',
  queries: '--queries',
  autoattackVersion: '--autoattack-version',
  heldOut: '--held-out',
  perturbation: '--perturbation',
};

/** What an attack found per image, and AutoAttack's per-attack counts. */
interface AttackRun {
  results: AttackResult[];
  stages?: AutoAttackStageReport[];
}

async function runAttack(
  classifier: Classifier,
  images: Parameters<typeof fgsm>[1],
  flags: AttackFlags & { method: Exclude<Method, 'universal'> },
  labels: number[] | undefined,
  signal: AbortSignal,
  onStep: (done: number, total: number, what?: string) => void,
): Promise<AttackRun> {
  const n = images.dims[0];
  const goal = flags.target === undefined ? {} : { targets: new Array<string>(n).fill(flags.target) };
  const run = { signal, onStep, units: flags.units, ...goal };
  const budget = { eps: flags.eps, stepSize: flags.stepSize, steps: flags.steps };
  // The float-domain attacks: untargeted, away from the manifest's labels or the model's predictions.
  const away = {
    signal,
    onStep,
    units: flags.units,
    labels,
    eps: flags.eps,
    norm: flags.norm,
    seed: flags.seed,
  };
  const iterations = flags.steps;
  switch (flags.method) {
    case 'fgsm':
      return { results: await fgsm(classifier, images, { ...run, eps: flags.eps }) };
    case 'bim':
      return { results: await bim(classifier, images, { ...run, ...budget }) };
    case 'pgd':
    case 'pgd-l2':
      return {
        results: await (flags.method === 'pgd' ? pgd : pgdL2)(classifier, images, {
          ...run,
          ...budget,
          randomStart: flags.randomStart,
          seed: flags.seed,
        }),
      };
    case 'deepfool':
      return {
        results: await deepFool(classifier, images, {
          signal,
          onStep,
          candidates: flags.candidates,
          maxIterations: flags.steps,
        }),
      };
    case 'cw':
      return {
        results: await carliniWagnerL2(classifier, images, {
          ...run,
          steps: flags.steps,
          binarySearchSteps: flags.binarySteps,
          confidence: flags.confidence,
        }),
      };
    case 'apgd-ce':
    case 'apgd-dlr':
      return {
        results: await apgd(classifier, images, {
          ...away,
          iterations,
          loss: flags.method === 'apgd-ce' ? 'ce' : 'dlr',
        }),
      };
    case 'apgd-t':
      return {
        results: await apgdTargeted(classifier, images, {
          ...away,
          iterations,
          targetClasses: flags.targetClasses,
        }),
      };
    case 'fab':
      return {
        results: await fab(classifier, images, { ...away, iterations, targetClasses: flags.targetClasses }),
      };
    case 'square':
      return { results: await square(classifier, images, { ...away, queries: flags.queries }) };
    case 'autoattack': {
      const aa = await autoAttack(classifier, images, {
        ...away,
        version: flags.autoattackVersion,
        iterations,
        targetClasses: flags.targetClasses,
        queries: flags.queries,
        onStep: (done, total, attack) => onStep(done, total, attack),
      });
      return { results: aa.results, stages: aa.stages };
    }
  }
}

/** `netvis attack IMAGE... --method M`: adversarial examples, or one universal perturbation for all the images. */
export function attackCommand(): Command {
  return withProgressOption(
    withModelOptions(
      withAutoAttackOptions(
        new Command('attack')
          .description(
            'adversarial examples (FGSM, BIM, PGD L∞/L2, DeepFool, Carlini-Wagner L2, APGD-CE/DLR/T, FAB-T, Square, AutoAttack), or a universal perturbation',
          )
          .argument(
            '<inputs...>',
            'JPEG, PNG or WebP files, folders of them, or manifests (.csv or .jsonl: path, label)',
          )
          .addOption(new Option('--method <name>', 'attack').choices([...ATTACK_METHODS]).default('pgd'))
          .option('-t, --target <name|index|wnid>', 'class to reach (targeted attack); default: untargeted')
          .addOption(
            new Option(
              '--eps <n>',
              'budget ε ≥ 0 in --units (L∞, or L2 for pgd-l2 or with --norm l2; universal: ξ, default 10)',
            ).argParser(nonNegativeNumber('--eps')),
          )
          .addOption(
            new Option('--step-size <n>', 'step length α > 0 in --units').argParser(
              positiveNumber('--step-size'),
            ),
          )
          .addOption(
            new Option(
              '--steps <n>',
              'gradient steps (deepfool: most iterations; cw: Adam steps per c; apgd, fab, autoattack: iterations)',
            ).argParser(positiveInt('--steps')),
          )
          .addOption(
            new Option('--units <units>', 'units of --eps and --step-size')
              .choices(['0-255', '0-1'])
              .default('0-255'),
          )
          .addOption(
            new Option('--norm <norm>', 'apgd-*, fab, square, autoattack, universal: budget norm').choices([
              'linf',
              'l2',
            ]),
          )
          .addOption(
            new Option('--seed <n>', 'seed of random starts, squares and orders (an integer)')
              .default(0)
              .argParser(seedFlag()),
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
            new Option('--binary-steps <n>', 'cw: values of c tried').argParser(
              positiveInt('--binary-steps'),
            ),
          )
          .option(
            '--held-out <inputs...>',
            'universal: images (files, folders, manifests) to measure the fooling rate on',
          )
          .option(
            '--perturbation <file.npy>',
            'universal: write the perturbation (1×3×H×W, 0-255 pixel units) as .npy',
          )
          .option(
            '--save-adversarial <dir>',
            'write each adversarial image (8-bit PNG, NAME.adversarial.png) and its crop (NAME.original.png), then check it again from the file',
          )
          .option(
            '-o, --output <file>',
            'PNG figure, a row per image: original | adversarial | difference | ×10',
            'attack.png',
          )
          .option('--json', 'print the results as JSON'),
      ),
    ),
  ).action(async (args: string[], flags: AttackFlags) => {
    const allowed = FLAGS_FOR[flags.method];
    for (const [key, name] of Object.entries(FLAG_NAMES) as [keyof AttackFlags, string][]) {
      if (flags[key] !== undefined && !allowed.includes(key))
        throw new UsageError(`${name} does not apply to --method ${flags.method}`);
    }
    const inputs = await imageInputs(args);
    const outputs = await planOutputs(
      [
        { flag: '-o', path: flags.output, format: 'png' },
        ...(flags.perturbation
          ? [{ flag: '--perturbation', path: flags.perturbation, format: 'npy' as const }]
          : []),
      ],
      flags.saveAdversarial ? { flag: '--save-adversarial', path: flags.saveAdversarial } : undefined,
    );
    const classifier = await classifierFrom(flags);
    try {
      if (flags.candidates !== undefined && flags.candidates > classifier.numClasses)
        throw new UsageError(`--candidates must be at most the model's ${classifier.numClasses} classes`);
      if (flags.method === 'universal')
        await universal(
          classifier,
          inputs.map((i) => i.path),
          flags,
          outputs,
        );
      else await adversarial(classifier, inputs, flags.method, flags, outputs);
    } finally {
      await classifier.dispose();
    }
  });
}

/** Progress on stderr, per attack when AutoAttack says which is running. */
function progressFor(flags: AttackFlags): {
  onStep: (done: number, total: number, what?: string) => void;
  stop: () => void;
} {
  let bar: ReturnType<typeof progressBar> | undefined;
  let current: string | undefined;
  return {
    onStep: (done, total, what = flags.method) => {
      if (what !== current) {
        bar?.stop();
        bar = progressBar(total, what, flags);
        current = what;
      }
      bar!.update(done);
    },
    stop: () => bar?.stop(),
  };
}

async function adversarial(
  classifier: Classifier,
  inputs: Awaited<ReturnType<typeof imageInputs>>,
  method: Exclude<Method, 'universal'>,
  flags: AttackFlags,
  outputs: OutputSet,
): Promise<void> {
  const paths = inputs.map((i) => i.path);
  const target = flags.target === undefined ? undefined : classifier.labels.resolve(flags.target).index;
  const labels = inputs.every((i) => i.label !== undefined)
    ? inputs.map((i) => classifier.labels.resolve(i.label!).index)
    : undefined;
  const { tensor, crops } = await loadImageBatch(paths, classifier.preprocessing);
  const progress = progressFor(flags);
  const { results, stages } = await withInterrupt((signal) =>
    runAttack(
      classifier,
      tensor,
      { ...flags, method, target: target?.toString() },
      labels,
      signal,
      progress.onStep,
    ),
  ).finally(() => progress.stop());
  const name = (i: number) => classifier.labels.name(i);
  const stems = fileStems(paths);
  const checks: (RoundedCheck | undefined)[] = [];
  for (const [i, r] of results.entries()) {
    const label = r.label ?? r.originalPrediction;
    checks.push(
      flags.saveAdversarial && (r.unrounded?.success ?? r.success)
        ? await checkRounded(classifier, r, crops[i], label, flags.saveAdversarial, stems[i])
        : undefined,
    );
  }
  const rows = results.map((r, i) => {
    const [adv] = deprocess(r.image, classifier.preprocessing);
    return attackRow(
      crops[i],
      adv,
      `Original\n${name(r.originalPrediction)}`,
      `${TITLES[flags.method]}\n${name(r.predicted)}`,
    );
  });
  await outputs.write({ [flags.output]: await gridFigure(rows) });
  const cls = (i: number) => ({ index: i, name: name(i) });
  const summary = {
    method: flags.method,
    output: flags.output,
    units: flags.units,
    ...(stages && { stages }),
    results: results.map((r, i) => ({
      image: paths[i],
      success: r.success,
      iterations: r.iterations,
      originalPrediction: cls(r.originalPrediction),
      predicted: cls(r.predicted),
      ...(r.target === undefined ? {} : { target: cls(r.target) }),
      linf: r.linf,
      l2: r.l2,
      linfPixels: checks[i]?.linfPixels ?? r.linfPixels,
      l2Pixels: checks[i]?.l2Pixels ?? r.l2Pixels,
      ...(checks[i]?.file && { file: checks[i]!.file, adversarialFromFile: checks[i]!.adversarial }),
      ...(r.unrounded && {
        unrounded: {
          success: r.unrounded.success,
          predicted: cls(r.unrounded.predicted),
          linfPixels: r.unrounded.linfPixels,
          l2Pixels: r.unrounded.l2Pixels,
        },
      }),
    })),
  };
  if (flags.json) {
    printJson(summary);
    return;
  }
  const out = (line: string) => process.stdout.write(`${line}\n`);
  for (const s of stages ?? [])
    out(`${s.attack}: broke ${s.broke} of ${s.attacked} (${s.seconds.toFixed(1)} s)`);
  for (const [i, r] of results.entries()) {
    // The float-domain result is worth a word only where rounding to 8 bits changed the verdict.
    const float =
      r.unrounded && r.unrounded.success !== r.success
        ? `; before rounding to 8 bits: ${r.unrounded.success ? 'fooled' : 'not fooled'}, L∞ ${r.unrounded.linfPixels.toFixed(3)}`
        : '';
    const file = checks[i] ? `; checked from ${checks[i]!.file}` : '';
    out(
      `${paths[i]}: ${r.success ? 'fooled' : 'not fooled'}, ${name(r.originalPrediction)} -> ${name(r.predicted)} ` +
        `(L∞ ${r.linfPixels.toFixed(2)}, L2 ${r.l2Pixels.toFixed(1)} in 0-255 units)${file}${float}`,
    );
  }
  out(`wrote ${flags.output}`);
}

/** One figure row: original | adversarial | difference | difference ×10. */
function attackRow(original: RgbImage, adv: RgbImage, originalCaption: string, advCaption: string): Tile[] {
  return [
    { image: original, caption: originalCaption },
    { image: adv, caption: advCaption },
    { image: differenceImage(original, adv), caption: 'Difference' },
    { image: differenceImage(original, adv, 10), caption: 'Difference ×10' },
  ];
}

async function universal(
  classifier: Classifier,
  paths: string[],
  flags: AttackFlags,
  outputs: OutputSet,
): Promise<void> {
  const p = classifier.preprocessing;
  const { tensor } = await loadImageBatch(paths, p);
  const heldOutPaths = flags.heldOut ? (await imageInputs(flags.heldOut)).map((i) => i.path) : [];
  const heldOut = heldOutPaths.length ? (await loadImageBatch(heldOutPaths, p)).tensor : undefined;
  const progress = progressFor(flags);
  const result = await withInterrupt((signal) =>
    universalPerturbation(classifier, tensor, {
      eps: flags.eps,
      norm: flags.norm,
      units: flags.units,
      seed: flags.seed,
      signal,
      onStep: progress.onStep,
    }),
  ).finally(() => progress.stop());
  const shown = heldOut ?? tensor;
  const shownPaths = heldOut ? heldOutPaths : paths;
  const rate = await foolingRate(classifier, shown, result.perturbation);
  // Some models change their prediction under plain noise: the baseline a universal perturbation must beat. Noise of
  // the perturbation's own size (in the budget's norm) is the fair comparison; noise filling the budget, the ceiling.
  const noiseSeed = flags.seed;
  const ownSize = result.norm === 'linf' ? result.linfPixels : result.l2Pixels;
  const noiseAt = async (size: number) => {
    const noise = randomPerturbation(result.perturbation.dims, result.norm, size, noiseSeed);
    return {
      ...pixelChange(noise.data, new Float32Array(noise.data.length)),
      foolingRate: (await foolingRate(classifier, shown, noise)).rate,
    };
  };
  const sameSize = ownSize > 0 ? await noiseAt(ownSize) : { linfPixels: 0, l2Pixels: 0, foolingRate: 0 };
  const fullBudget = await noiseAt(result.eps);
  const v = result.perturbation.data;
  const name = (i: number) => classifier.labels.name(i);
  const rows = shownPaths.slice(0, 8).map((_, i) => {
    const [original] = deprocess(sliceBatch(shown, i), p);
    const [moved] = deprocess(perturbedImage(classifier, shown, i, result.perturbation), p);
    return attackRow(
      original,
      moved,
      `Original\n${name(rate.clean[i])}`,
      `Universal\n${name(rate.perturbed[i])}`,
    );
  });
  const files: Record<string, Uint8Array> = { [flags.output]: await gridFigure(rows) };
  if (flags.perturbation) files[flags.perturbation] = encodeNpy(v, result.perturbation.dims);
  await outputs.write(files);
  const summary = {
    method: 'universal',
    norm: result.norm,
    eps: result.eps,
    units: '0-255',
    passes: result.passes,
    linfPixels: result.linfPixels,
    l2Pixels: result.l2Pixels,
    foolingRate: result.foolingRate,
    images: paths.length,
    ...(heldOut && {
      heldOut: {
        images: heldOutPaths.length,
        foolingRate: rate.rate,
        results: heldOutPaths.map((image, i) => ({
          image,
          clean: { index: rate.clean[i], name: name(rate.clean[i]) },
          perturbed: { index: rate.perturbed[i], name: name(rate.perturbed[i]) },
        })),
      },
    }),
    randomNoise: { on: heldOut ? 'held-out' : 'computed-on', seed: noiseSeed, sameSize, fullBudget },
    output: flags.output,
    ...(flags.perturbation && { perturbation: flags.perturbation }),
  };
  if (flags.json) {
    printJson(summary);
    return;
  }
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(
    `universal perturbation (L∞ ${result.linfPixels} / L2 ${result.l2Pixels.toFixed(1)} in 0-255 units, budget ${result.norm === 'linf' ? 'L∞' : 'L2'} ${result.eps}; DeepFool's minimal steps make it only as large as fooling these images needs) after ${result.passes} pass${result.passes === 1 ? '' : 'es'}: fools ${pct(result.foolingRate)} of the ${paths.length} images it was computed on`,
  );
  if (heldOut)
    out(
      `on ${heldOutPaths.length} held-out images it fools ${pct(rate.rate)} (their predicted class changes)`,
    );
  const sizes = (n: { linfPixels: number; l2Pixels: number }) =>
    `L∞ ${n.linfPixels} / L2 ${n.l2Pixels.toFixed(1)}`;
  out(
    `random noise (seed ${noiseSeed}) fools ${pct(sameSize.foolingRate)} of ${heldOut ? 'the held-out' : 'these'} images at the perturbation's size (${sizes(sameSize)}) and ${pct(fullBudget.foolingRate)} at the full budget (${sizes(fullBudget)}): the perturbation is worth its name only above the first`,
  );
  out(`wrote ${[flags.output, flags.perturbation].filter(Boolean).join(', ')}`);
}
