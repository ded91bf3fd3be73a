import { Command, Option } from 'commander';
import { encodePng } from '../image/encode.js';
import { deprocess } from '../image/preprocess.js';
import type { RgbImage } from '../image/types.js';
import {
  classVisualization,
  type ClassVisualizationResult,
} from '../methods/featureviz/class-visualization.js';
import type { Classifier } from '../model/classifier.js';
import { argmaxRows } from '../methods/common.js';
import { encodeGif } from '../render/animation.js';
import { classVisualizationFigure } from '../render/figure.js';
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
  type PlannedOutput,
  type ProgressFlags,
} from './shared.js';

interface ClassvizFlags extends ModelFlags, ProgressFlags {
  class: string;
  iterations: number;
  seed: number;
  lr: number;
  l2Reg: number;
  blurEvery: number;
  blurSigma: number;
  maxJitter: number;
  showEvery: number;
  output: string;
  frames?: string;
  gif?: string;
  json?: boolean;
}

/** Most frames a GIF keeps: longer runs keep every k-th step (and the last), so memory and file stay bounded. */
export const GIF_MAX_FRAMES = 250;

/** A class visualization with its figure, its frames as RGB for a GIF (see GIF_MAX_FRAMES) and its final top-1. */
export interface RenderedClassVisualization {
  result: ClassVisualizationResult;
  figure: Uint8Array;
  /** Every step's image, or every k-th step's and the last when there are more than GIF_MAX_FRAMES steps. */
  allFrames: RgbImage[];
  top1: number;
}

/**
 * Runs class visualization with CS231n's settings unless overridden, and renders its figure; `onStep` sees progress.
 * With `keepAllFrames`, keeps each step's image for a GIF, or every ⌈iterations / maxFrames⌉-th and the last when
 * there are more steps than `maxFrames` (default GIF_MAX_FRAMES).
 */
export async function renderClassVisualization(
  classifier: Classifier,
  target: number,
  options: Parameters<typeof classVisualization>[2] & { keepAllFrames?: boolean; maxFrames?: number },
): Promise<RenderedClassVisualization> {
  const allFrames: RgbImage[] = [];
  const { keepAllFrames, maxFrames = GIF_MAX_FRAMES, onStep, ...rest } = options;
  const iterations = rest.iterations ?? 100;
  const every = Math.ceil(iterations / maxFrames);
  const result = await classVisualization(classifier, target, {
    ...rest,
    onStep: (t, image, score) => {
      if (keepAllFrames && (t % every === 0 || t === iterations))
        allFrames.push(deprocess(image, classifier.preprocessing)[0]);
      onStep?.(t, image, score);
    },
  });
  const figure = await classVisualizationFigure(
    result.frames.map((f) => ({
      image: deprocess(f.image, classifier.preprocessing)[0],
      iteration: f.iteration,
    })),
    classifier.labels.name(target),
    result.scores.length,
  );
  const [top1] = argmaxRows(await classifier.logits(result.image));
  return { result, figure, allFrames, top1 };
}

/** `netvis classviz --class CLASS`: an image the model scores as that class, from noise. */
export function classvizCommand(): Command {
  return withProgressOption(
    withModelOptions(
      new Command('classviz')
        .description(
          'class visualization (Simonyan et al. 2014, Yosinski et al. 2015): gradient ascent from noise',
        )
        .requiredOption('-c, --class <name|index|wnid>', 'class to visualize')
        .addOption(
          new Option('--iterations <n>', 'gradient ascent steps')
            .default(100)
            .argParser(positiveInt('--iterations')),
        )
        .addOption(
          new Option('--seed <n>', 'seed of the noise and jitter (an integer)')
            .default(0)
            .argParser(seedFlag()),
        )
        .addOption(
          new Option('--lr <rate>', 'step length (normalised units, > 0)')
            .default(25)
            .argParser(positiveNumber('--lr')),
        )
        .addOption(
          new Option('--l2-reg <lambda>', 'λ of the L2 penalty (≥ 0)')
            .default(1e-3)
            .argParser(nonNegativeNumber('--l2-reg')),
        )
        .addOption(
          new Option('--blur-every <n>', 'blur every n steps')
            .default(10)
            .argParser(positiveInt('--blur-every')),
        )
        .addOption(
          new Option('--blur-sigma <px>', 'Gaussian blur sigma (> 0)')
            .default(0.5)
            .argParser(positiveNumber('--blur-sigma')),
        )
        .addOption(
          new Option('--max-jitter <px>', 'largest random shift (whole pixels ≥ 0)')
            .default(16)
            .argParser(numberFlag('--max-jitter', { integer: true, min: 0 })),
        )
        .addOption(
          new Option('--show-every <n>', 'keep a frame for --frames every n steps')
            .default(25)
            .argParser(positiveInt('--show-every')),
        )
        .option('-o, --output <file>', 'PNG of the final image (crop×crop pixels)', 'classviz.png')
        .option('--frames <file>', 'also write a PNG strip of the frames kept (see --show-every)')
        .option(
          '--gif <file>',
          `also write an animated GIF of every step (of every k-th step when there are more than ${GIF_MAX_FRAMES})`,
        )
        .option('--json', 'print the result as JSON'),
    ),
  ).action(async (flags: ClassvizFlags) => {
    const planned: PlannedOutput[] = [{ flag: '-o', path: flags.output, format: 'png' }];
    if (flags.frames) planned.push({ flag: '--frames', path: flags.frames, format: 'png' });
    if (flags.gif) planned.push({ flag: '--gif', path: flags.gif, format: 'gif' });
    const outputs = await planOutputs(planned);
    const classifier = await classifierFrom(flags);
    try {
      const target = classifier.labels.resolve(flags.class).index;
      const bar = progressBar(flags.iterations, `classviz ${classifier.labels.name(target)}`, flags);
      const out = await withInterrupt((signal) =>
        renderClassVisualization(classifier, target, {
          iterations: flags.iterations,
          seed: flags.seed,
          learningRate: flags.lr,
          l2Reg: flags.l2Reg,
          blurEvery: flags.blurEvery,
          blurSigma: flags.blurSigma,
          maxJitter: flags.maxJitter,
          showEvery: flags.showEvery,
          keepAllFrames: Boolean(flags.gif),
          signal,
          onStep: (t, _img, score) => bar.update(t, `score ${score.toFixed(2)}`),
        }),
      ).finally(() => bar.stop());
      const files: Record<string, Uint8Array> = {
        [flags.output]: await encodePng(deprocess(out.result.image, classifier.preprocessing)[0]),
      };
      if (flags.frames) files[flags.frames] = out.figure;
      if (flags.gif) files[flags.gif] = encodeGif(out.allFrames, { delayMs: 80 });
      await outputs.write(files);
      const summary = {
        class: { index: target, name: classifier.labels.name(target) },
        iterations: flags.iterations,
        seed: flags.seed,
        finalScore: out.result.scores[out.result.scores.length - 1],
        top1: { index: out.top1, name: classifier.labels.name(out.top1) },
        frames: out.result.frames.map((f) => f.iteration),
        outputs: Object.keys(files),
      };
      if (flags.json) printJson(summary);
      else
        process.stdout.write(
          `top-1 after ${flags.iterations} steps: ${summary.top1.name}\nwrote ${Object.keys(files).join(', ')}\n`,
        );
    } finally {
      await classifier.dispose();
    }
  });
}
