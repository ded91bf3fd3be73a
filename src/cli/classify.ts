import { Command, Option } from 'commander';
import { UsageError } from './errors.js';
import { imageBatch, readImages } from '../image/load.js';
import { softmaxRows } from '../methods/common.js';
import { classifierFrom, positiveInt, printJson, withModelOptions, type ModelFlags } from './shared.js';

interface ClassifyFlags extends ModelFlags {
  top: number;
  json?: boolean;
}

/** One image's top classes. */
export interface Classification {
  image: string;
  /** `label` is the display name (told apart from classes sharing its name); `wnid` the WordNet id when the labels have one. */
  top: { index: number; label: string; wnid?: string; probability: number }[];
}

/** `netvis classify IMAGE...`: top-k classes with softmax probabilities. */
export function classifyCommand(): Command {
  return withModelOptions(
    new Command('classify')
      .description('top-k classes of each image, with softmax probabilities')
      .argument('<images...>', 'JPEG, PNG or WebP files, or .npy preprocessed 1×3×H×W tensors')
      .addOption(
        new Option('-k, --top <k>', 'how many classes per image').default(5).argParser(positiveInt('--top')),
      )
      .option('--json', 'print one JSON array on stdout'),
  ).action(async (images: string[], flags: ClassifyFlags) => {
    const decoded = await readImages(images);
    const classifier = await classifierFrom(flags);
    try {
      const { tensor } = imageBatch(decoded, classifier.preprocessing);
      const k = classifier.numClasses;
      if (flags.top > k) throw new UsageError(`--top ${flags.top}: ${classifier.source} has ${k} classes`);
      const probs = softmaxRows(await classifier.logits(tensor));
      const results: Classification[] = images.map((image, i) => {
        const row = Array.from(probs.subarray(i * k, (i + 1) * k));
        const order = row
          .map((p, index) => ({ p, index }))
          .sort((a, b) => b.p - a.p)
          .slice(0, flags.top);
        return {
          image,
          top: order.map(({ p, index }) => ({
            index,
            label: classifier.labels.name(index),
            wnid: classifier.labels.classes[index].wnid,
            probability: Number(p.toFixed(6)),
          })),
        };
      });
      if (flags.json) printJson(results);
      else {
        for (const r of results) {
          process.stdout.write(`${r.image}\n`);
          for (const t of r.top)
            process.stdout.write(
              `  ${(t.probability * 100).toFixed(1).padStart(5)}%  ${t.label} (${t.index})\n`,
            );
        }
      }
    } finally {
      await classifier.dispose();
    }
  });
}
