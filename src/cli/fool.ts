import { Command, Option } from 'commander';
import { deprocess } from '../image/preprocess.js';
import { imageBatch, readImages } from '../image/load.js';
import { makeFoolingImage } from '../methods/adversarial/fooling.js';
import { foolingFigure } from '../render/figure.js';
import {
  classifierFrom,
  planOutputs,
  positiveInt,
  positiveNumber,
  printJson,
  progressBar,
  withInterrupt,
  withModelOptions,
  withProgressOption,
  type ModelFlags,
  type ProgressFlags,
} from './shared.js';

interface FoolFlags extends ModelFlags, ProgressFlags {
  target: string;
  lr: number;
  maxIterations: number;
  output: string;
  json?: boolean;
}

/** `netvis fool IMAGE --target CLASS`: a fooling image (Szegedy et al. 2014) as in CS231n. */
export function foolCommand(): Command {
  return withProgressOption(
    withModelOptions(
      new Command('fool')
        .description('fooling image: gradient ascent on a target class until the model predicts it')
        .argument('<image>', 'JPEG, PNG or WebP file')
        .requiredOption('-t, --target <name|index|wnid>', 'class the model should predict')
        .addOption(
          new Option('--lr <rate>', 'step length in normalised units')
            .default(1)
            .argParser(positiveNumber('--lr')),
        )
        .addOption(
          new Option('--max-iterations <n>', 'most gradient steps')
            .default(100)
            .argParser(positiveInt('--max-iterations')),
        )
        .option(
          '-o, --output <file>',
          'PNG figure to write: original | fooling | difference | ×10',
          'fooling.png',
        )
        .option('--json', 'print the result as JSON'),
    ),
  ).action(async (image: string, flags: FoolFlags) => {
    const outputs = await planOutputs([{ flag: '-o', path: flags.output, format: 'png' }]);
    const decoded = await readImages([image]);
    const classifier = await classifierFrom(flags);
    try {
      const target = classifier.labels.resolve(flags.target).index;
      const { tensor, crops } = imageBatch(decoded, classifier.preprocessing);
      const bar = progressBar(flags.maxIterations, 'fooling', flags);
      const result = await withInterrupt((signal) =>
        makeFoolingImage(classifier, tensor, target, {
          learningRate: flags.lr,
          maxIterations: flags.maxIterations,
          signal,
          onStep: (it, predicted) => bar.update(it, classifier.labels.name(predicted[0])),
        }),
      ).finally(() => bar.stop());
      const [fooled] = deprocess(result.image, classifier.preprocessing);
      const png = await foolingFigure({
        original: crops[0],
        fooled,
        originalLabel: classifier.labels.name(result.originalPrediction),
        fooledLabel: classifier.labels.name(result.predicted),
      });
      await outputs.write({ [flags.output]: png });
      const summary = {
        image,
        output: flags.output,
        target: { index: target, name: classifier.labels.name(target) },
        success: result.success,
        iterations: result.iterations,
        originalPrediction: {
          index: result.originalPrediction,
          name: classifier.labels.name(result.originalPrediction),
        },
        predicted: { index: result.predicted, name: classifier.labels.name(result.predicted) },
        linf: result.linf,
        l2: result.l2,
        linfPixels: result.linfPixels,
        l2Pixels: result.l2Pixels,
      };
      if (flags.json) printJson(summary);
      else {
        const outcome =
          result.success && result.iterations === 0
            ? 'already predicted as the target, no step taken: '
            : `${result.success ? 'fooled' : 'not fooled'} after ${result.iterations} step${result.iterations === 1 ? '' : 's'}: `;
        process.stdout.write(
          outcome +
            `${summary.originalPrediction.name} -> ${summary.predicted.name} ` +
            `(L∞ ${result.linfPixels.toFixed(2)}, L2 ${result.l2Pixels.toFixed(1)} in 0-255 units)\nwrote ${flags.output}\n`,
        );
      }
    } finally {
      await classifier.dispose();
    }
  });
}
