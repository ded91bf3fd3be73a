import { Command, Option } from 'commander';
import { imageBatch, readImages } from '../image/load.js';
import { channelSum, resolveTargets } from '../methods/attribution/support.js';
import {
  perturbationCurves,
  type PerturbationMetric,
  type PerturbationResult,
} from '../methods/evaluation/deletion-insertion.js';
import {
  modelRandomization,
  RANDOMIZATION_THRESHOLD,
  weightedLayers,
  type RandomizationResult,
} from '../methods/evaluation/randomization.js';
import { Random } from '../methods/random.js';
import type { Tensor } from '../tensor.js';
import {
  parseMethods,
  runMethod,
  selectMethods,
  settingsFrom,
  targetsFrom,
  withMethodOptions,
  type MethodFlags,
} from './attribute.js';
import { UsageError } from './errors.js';
import {
  classifierFrom,
  positiveInt,
  printJson,
  printTable,
  progressBar,
  withInterrupt,
  withModelOptions,
  withProgressOption,
  type ModelFlags,
  type ProgressFlags,
} from './shared.js';

const CHECKS = ['deletion', 'insertion', 'randomization'] as const;
type Check = (typeof CHECKS)[number];

interface EvaluateFlags extends ModelFlags, ProgressFlags, MethodFlags {
  method: string;
  check: string;
  target?: string[];
  curveSteps: number;
  layers?: number;
  json?: boolean;
}

/** A seeded uniform random map per image (N×H×W): the reference a useful map must beat. */
function randomMaps(n: number, h: number, w: number, seed: number): Tensor {
  const random = new Random(seed);
  return { data: Float32Array.from({ length: n * h * w }, () => random.next()), dims: [n, h, w] };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** `netvis evaluate IMAGE...`: deletion/insertion AUCs and the model-randomization check of attribution maps. */
export function evaluateCommand(): Command {
  return withProgressOption(
    withModelOptions(
      withMethodOptions(
        new Command('evaluate')
          .description(
            'how good attribution maps are: deletion/insertion curves and AUC (Petsiuk et al. 2018) against a random map, and the model-randomization check (Adebayo et al. 2018)',
          )
          .argument('<images...>', 'JPEG, PNG or WebP files')
          .option('--method <name>', 'attribution method(s) to evaluate, comma-separated, or all', 'saliency')
          .option('--check <list>', `comma-separated: ${CHECKS.join(', ')}`, 'deletion,insertion'),
      )
        .addOption(
          new Option('--curve-steps <n>', 'deletion/insertion steps from the first image to the last')
            .default(100)
            .argParser(positiveInt('--curve-steps')),
        )
        .addOption(
          new Option(
            '--layers <n>',
            'randomization: how many weighted layers to randomise from the top (default all)',
          ).argParser(positiveInt('--layers')),
        )
        .option('--json', 'print curves, AUCs and correlations per image as JSON'),
    ),
  ).action(async (images: string[], flags: EvaluateFlags) => {
    parseMethods(flags.method);
    const checks = flags.check.split(',').map((s) => s.trim()) as Check[];
    for (const c of checks)
      if (!CHECKS.includes(c))
        throw new UsageError(`--check: unknown check '${c}'; expected ${CHECKS.join(', ')}`);
    const targets = targetsFrom(flags.target, images.length);
    const decoded = await readImages(images);
    const classifier = await classifierFrom(flags);
    try {
      const methods = await selectMethods(flags.method, classifier);
      const { tensor } = imageBatch(decoded, classifier.preprocessing);
      const { labels } = await resolveTargets(classifier, tensor, targets, 16, 'evaluate');
      const [n, , h, w] = tensor.dims;
      const weighted = weightedLayers(classifier.model).length;
      if (flags.layers !== undefined && flags.layers > weighted && checks.includes('randomization'))
        throw new UsageError(
          `--layers must be an integer from 1 to ${weighted} (the model's weighted layers), got '${flags.layers}'`,
        );
      // A step removes at least one pixel: beyond one step per pixel the curve only repeats its points.
      if (flags.curveSteps > h * w)
        throw new UsageError(
          `--curve-steps must be an integer from 1 to ${h * w} (one per pixel of the ${h}×${w} input), got '${flags.curveSteps}'`,
        );
      const settings = settingsFrom(flags, tensor.dims);
      const results: Record<string, Partial<Record<Check, PerturbationResult | RandomizationResult>>> = {};
      await withInterrupt(async (signal) => {
        const explain = async (method: string, c = classifier, x = tensor, l = labels) =>
          channelSum((await runMethod(c, method, x, l, { ...settings, signal })).maps, true);
        const curves = checks.filter((c): c is PerturbationMetric => c !== 'randomization');
        const entries: [string, () => Promise<Tensor>][] = methods.map((m) => [m, () => explain(m)]);
        if (curves.length) entries.push(['random', async () => randomMaps(n, h, w, settings.seed ?? 0)]);
        for (const [name, maps] of entries) {
          results[name] = {};
          const m = curves.length ? await maps() : undefined;
          for (const metric of curves) {
            const bar = progressBar(n * (flags.curveSteps + 1), `${name} ${metric}`, flags);
            results[name][metric] = await perturbationCurves(classifier, tensor, m!, metric, labels, {
              steps: flags.curveSteps,
              batchSize: settings.batchSize,
              signal,
              onStep: (done) => bar.update(done),
            }).finally(() => bar.stop());
          }
          if (checks.includes('randomization') && name !== 'random') {
            let bar: ReturnType<typeof progressBar> | undefined;
            results[name].randomization = await modelRandomization(
              classifier,
              tensor,
              (c, x, l) => explain(name, c, x, l),
              {
                target: labels,
                layers: flags.layers,
                seed: settings.seed,
                signal,
                onLayer: (layer, done, total) => {
                  bar ??= progressBar(total, `${name} randomization`, flags);
                  bar.update(done, layer);
                },
              },
            ).finally(() => bar?.stop());
          }
        }
      });
      const summary = Object.fromEntries(
        Object.entries(results).map(([name, r]) => {
          const del = r.deletion as PerturbationResult | undefined;
          const ins = r.insertion as PerturbationResult | undefined;
          const rnd = r.randomization as RandomizationResult | undefined;
          return [
            name,
            {
              ...(del && { deletion: { meanAuc: mean(del.auc), auc: del.auc, curves: del.curves } }),
              ...(ins && { insertion: { meanAuc: mean(ins.auc), auc: ins.auc, curves: ins.curves } }),
              ...(rnd && {
                randomization: { steps: rnd.steps, flagged: rnd.flagged, threshold: RANDOMIZATION_THRESHOLD },
              }),
            },
          ];
        }),
      );
      if (flags.json) {
        const fractions = Object.values(results).find((r) => r.deletion ?? r.insertion);
        printJson({
          images,
          labels: labels.map((l) => ({ index: l, name: classifier.labels.name(l) })),
          fractions: ((fractions?.deletion ?? fractions?.insertion) as PerturbationResult | undefined)
            ?.fractions,
          methods: summary,
        });
        return;
      }
      const lines = [
        [
          'method',
          'deletion AUC ↓',
          'insertion AUC ↑',
          'randomization ρ (down to layer)',
          `flagged (ρ ≥ ${RANDOMIZATION_THRESHOLD})`,
        ],
      ];
      for (const [name, s] of Object.entries(summary)) {
        const last = s.randomization?.steps.at(-1);
        lines.push([
          name,
          s.deletion ? s.deletion.meanAuc.toFixed(3) : '',
          s.insertion ? s.insertion.meanAuc.toFixed(3) : '',
          last ? `${mean(last.correlations).toFixed(2)} (${last.layer})` : '',
          s.randomization ? `${s.randomization.flagged.filter(Boolean).length}/${n}` : '',
        ]);
      }
      printTable(lines);
      process.stdout.write(`(mean over ${n} image${n === 1 ? '' : 's'}; --json for per-image curves)\n`);
      if (checks.includes('randomization'))
        process.stdout.write(
          `flagged: images whose map, after randomising the layers, still has Spearman ρ ≥ ${RANDOMIZATION_THRESHOLD} with ` +
            "the trained model's map: it does not depend on what those layers learned (fails the sanity check)\n",
        );
    } finally {
      await classifier.dispose();
    }
  });
}
