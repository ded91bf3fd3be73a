import { Command } from 'commander';
import { imageBatch, readImages } from '../image/load.js';
import { saliency } from '../methods/attribution/saliency.js';
import { saliencyFigure } from '../render/figure.js';
import {
  classifierFrom,
  mapStats,
  planOutputs,
  printJson,
  withModelOptions,
  type ModelFlags,
} from './shared.js';
import { UsageError } from './errors.js';

interface SaliencyFlags extends ModelFlags {
  label?: string[];
  overlay?: boolean;
  output: string;
  json?: boolean;
}

/** `netvis saliency IMAGE...`: CS231n saliency maps as a figure. */
export function saliencyCommand(): Command {
  return withModelOptions(
    new Command('saliency')
      .description('saliency maps (Simonyan et al. 2014): |d score / d pixel|, max over colour channels')
      .argument('<images...>', 'JPEG, PNG or WebP files')
      .option(
        '-l, --label <name|index...>',
        'class to explain, one per image or one for all (default: the predicted class)',
      )
      .option('--overlay', 'blend each map on its image instead of showing it alone')
      .option('-o, --output <file>', 'PNG figure to write', 'saliency.png')
      .option('--json', 'print per-image label, score and map statistics as JSON'),
  ).action(async (images: string[], flags: SaliencyFlags) => {
    if (flags.label && flags.label.length !== 1 && flags.label.length !== images.length) {
      throw new UsageError(
        `--label: give one class or one per image (${images.length}), not ${flags.label.length}`,
      );
    }
    const outputs = await planOutputs([{ flag: '-o', path: flags.output, format: 'png' }]);
    const decoded = await readImages(images);
    const classifier = await classifierFrom(flags);
    try {
      const { tensor, crops } = imageBatch(decoded, classifier.preprocessing);
      const labels =
        flags.label && (flags.label.length === 1 ? images.map(() => flags.label![0]) : flags.label);
      const result = await saliency(classifier, tensor, labels);
      const [, h, w] = result.maps.dims;
      const maps = images.map((_, i) => result.maps.data.slice(i * h * w, (i + 1) * h * w));
      const png = await saliencyFigure(
        crops,
        maps,
        result.labels.map((l) => classifier.labels.name(l)),
        { overlay: flags.overlay },
      );
      await outputs.write({ [flags.output]: png });
      const rows = images.map((image, i) => ({
        image,
        label: { index: result.labels[i], name: classifier.labels.name(result.labels[i]) },
        score: result.scores[i],
        map: mapStats(maps[i]),
      }));
      if (flags.json) printJson({ output: flags.output, images: rows });
      else process.stdout.write(`wrote ${flags.output}\n`);
    } finally {
      await classifier.dispose();
    }
  });
}
