import { basename } from 'node:path';
import { Command, Option } from 'commander';
import { readImages } from '../image/load.js';
import type { PixelUnits } from '../methods/adversarial/attack.js';
import type { AutoAttackVersion } from '../methods/adversarial/autoattack.js';
import type { BudgetNorm } from '../methods/adversarial/budgeted.js';
import {
  attackNorm,
  ROBUSTNESS_ATTACKS,
  type AttackCount,
  type RobustnessAttack,
} from '../methods/adversarial/robustness.js';
import type { Classifier } from '../model/classifier.js';
import {
  runRobustnessTask,
  type RobustnessProgress,
  type RobustnessSettings,
  type RobustnessTask,
  type RobustnessTaskResult,
} from '../runner/robustness-task.js';
import { linePlot } from '../render/plot.js';
import { checkRounded, fileStems } from './adversarial-files.js';
import { withAutoAttackOptions } from './attack-options.js';
import { poolSize, withPoolOptions, type PoolFlags } from './pool-options.js';
import { InterruptedError, UsageError } from './errors.js';
import { imageInputs, wnidOf, type ImageInput } from './image-inputs.js';
import {
  appendChunk,
  fileHash,
  openJournal,
  type ChunkRecord,
  type ImageRecord,
} from './robustness-journal.js';
import {
  classifierFrom,
  planOutputs,
  seedFlag,
  positiveInt,
  printJson,
  progressBar,
  type OutputSet,
  withInterrupt,
  withModelOptions,
  withProgressOption,
  type ModelFlags,
  type ProgressFlags,
} from './shared.js';

interface RobustnessFlags extends ModelFlags, ProgressFlags, PoolFlags {
  attack: RobustnessAttack;
  eps: number[];
  units: PixelUnits;
  norm?: BudgetNorm;
  autoattackVersion?: AutoAttackVersion;
  steps?: number;
  targetClasses?: number;
  queries?: number;
  seed: number;
  labelsFrom: 'prediction' | 'filename';
  state?: string;
  saveAdversarial?: string;
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
  'apgd-ce': 'APGD-CE',
  'apgd-dlr': 'APGD-DLR',
  'apgd-t': 'APGD-T',
  fab: 'FAB-T',
  square: 'Square',
  autoattack: 'AutoAttack',
};

/** Images attacked together; the journal (--state) records each chunk once it is done. */
const CHUNK = 32;

function epsList(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const list = parts.map(Number);
  // An empty entry ('1,,2') is a typo, not ε 0 (Number('') is 0).
  if (parts.some((s) => s === '') || list.some((e) => !(e >= 0 && Number.isFinite(e))))
    throw new UsageError(`--eps must be a comma-separated list of numbers ≥ 0, got '${value}'`);
  return list;
}

/** The label of each input: its manifest's, the WordNet id its file name starts with, or none (the clean prediction). */
function labelsOf(
  classifier: Classifier,
  inputs: ImageInput[],
  from: RobustnessFlags['labelsFrom'],
): (number | undefined)[] {
  return inputs.map(({ path, label }) => {
    if (label !== undefined) return classifier.labels.resolve(label).index;
    if (from === 'prediction') return undefined;
    const wnid = wnidOf(path);
    if (!wnid) throw new UsageError(`${path}: the file name does not start with a WordNet id (n########)`);
    return classifier.labels.resolve(wnid).index;
  });
}

/** `netvis robustness IMAGES... --attack A --eps 0,1,2,4,8`: accuracy against an attack as its budget grows. */
export function robustnessCommand(): Command {
  return withProgressOption(
    withModelOptions(
      withPoolOptions(
        withAutoAttackOptions(
          new Command('robustness')
            .description(
              'robust accuracy over images (files, folders or a .csv/.jsonl manifest) against an attack at each budget ε, as RobustBench reports it, plotted',
            )
            .argument(
              '<inputs...>',
              'JPEG, PNG or WebP files, folders of them, or manifests (.csv or .jsonl: path, label)',
            )
            .addOption(
              new Option('--attack <name>', 'attack').choices([...ROBUSTNESS_ATTACKS]).default('pgd'),
            )
            .addOption(
              new Option(
                '--eps <list>',
                'budgets ε, comma-separated, in --units (L∞; L2 for pgd-l2, deepfool, cw, or with --norm l2)',
              )
                .default([0, 1, 2, 4, 8], '0,1,2,4,8')
                .argParser(epsList),
            )
            .addOption(
              new Option('--units <units>', 'units of --eps').choices(['0-255', '0-1']).default('0-255'),
            )
            .addOption(
              new Option(
                '--norm <norm>',
                'norm of apgd-*, fab, square and autoattack (default linf)',
              ).choices(['linf', 'l2']),
            )
            .addOption(
              new Option(
                '--steps <n>',
                'gradient steps of iterative attacks (apgd, fab: iterations)',
              ).argParser(positiveInt('--steps')),
            )
            .addOption(
              new Option('--seed <n>', 'seed of random starts and squares').default(0).argParser(seedFlag()),
            )
            .addOption(
              new Option(
                '--labels-from <source>',
                "true labels where a manifest gives none: the model's clean 'prediction' (clean accuracy is then 100 %), or the WordNet id a 'filename' starts with (n01774750_...)",
              )
                .choices(['prediction', 'filename'])
                .default('prediction'),
            )
            .option(
              '--state <file.jsonl>',
              'journal of finished images: rerunning with the same file continues where a run stopped',
            )
            .option(
              '--save-adversarial <dir>',
              'write each adversarial image (8-bit PNG, NAME.adversarial.png) and the crop it was made from (NAME.original.png), then check it again from the file',
            )
            .option('-o, --output <file>', 'PNG plot of accuracy against ε', 'robustness.png')
            .option('--json', 'print the result as JSON'),
        ),
        'worker threads, each with its own model session, attacking chunks of the images side by side (default: one per core; 1 runs in this thread)',
      ),
      'ONNX Runtime threads per session (default: the cores shared out among the workers)',
    ),
  ).action(async (args: string[], flags: RobustnessFlags) => {
    const inputs = await imageInputs(args);
    const norm = (() => {
      try {
        return attackNorm(flags.attack, flags.norm);
      } catch (err) {
        throw new UsageError(
          `--norm ${flags.norm} does not apply to --attack ${flags.attack}: ${(err as Error).message}`,
        );
      }
    })();
    if (flags.autoattackVersion && flags.attack !== 'autoattack')
      throw new UsageError(`--autoattack-version applies to --attack autoattack, not ${flags.attack}`);
    const outputs = await planOutputs(
      [{ flag: '-o', path: flags.output, format: 'png' }],
      flags.saveAdversarial ? { flag: '--save-adversarial', path: flags.saveAdversarial } : undefined,
    );
    // Every file is read once before any attack, after the flags are checked (one at a time, so a large folder is
    // not held in memory): a bad file fails at once rather than after hours of work on the others.
    for (const { path } of inputs) await readImages([path]);
    const { workers, threads } = poolSize(flags);
    // With workers, this thread only reads labels and checks the rounded examples.
    const classifier = await classifierFrom({ ...flags, threads: workers === 1 ? threads : 1 });
    try {
      const labels = labelsOf(classifier, inputs, flags.labelsFrom);
      if (labels.some((l) => l === undefined) && labels.some((l) => l !== undefined))
        throw new UsageError(
          'the manifest labels some images and not others: label every image, or use --labels-from filename',
        );
      const eps = [...new Set(flags.eps)].sort((a, b) => a - b);
      const settings: RobustnessSettings = {
        attack: flags.attack,
        eps,
        units: flags.units,
        norm: flags.norm,
        version: flags.autoattackVersion,
        steps: flags.steps,
        targetClasses: flags.targetClasses,
        queries: flags.queries,
        seed: flags.seed,
      };
      // What the journal must match: results depend on these, not on how the work is shared out.
      const journalSettings = {
        model: flags.model ?? 'squeezenet1_1',
        attack: flags.attack,
        eps,
        units: flags.units,
        norm,
        version: flags.autoattackVersion ?? null,
        steps: flags.steps ?? null,
        targetClasses: flags.targetClasses ?? null,
        queries: flags.queries ?? null,
        seed: flags.seed,
        labelsFrom: flags.labelsFrom,
      };
      const hashes = await Promise.all(inputs.map((i) => fileHash(i.path)));
      const chunks: ChunkRecord[] = flags.state ? await openJournal(flags.state, journalSettings) : [];
      const done = new Map(
        chunks.flatMap((c) => c.images.map((r) => [`${r.image}\0${r.sha256}`, r] as const)),
      );
      const todo = inputs.flatMap((_, i) => (done.has(`${inputs[i].path}\0${hashes[i]}`) ? [] : [i]));
      const names = fileStems(inputs.map((i) => i.path));
      const bar = progressBar(inputs.length, `robustness ${flags.attack}`, flags, { unit: 'images' });
      let finished = inputs.length - todo.length;
      bar.update(finished);
      // The attacks' progress in each chunk running, shown beside the images done (at most once a second).
      const running = new Map<number, RobustnessProgress>();
      let lastInfo = 0;
      const onProgress = (start: number) => (p: RobustnessProgress) => {
        running.set(start, p);
        if (Date.now() - lastInfo < 1000) return;
        lastInfo = Date.now();
        bar.update(
          finished,
          [...running.values()].map((r) => `${r.attack} ${r.done}/${r.total}`).join(' · '),
        );
      };
      // Several workers get smaller chunks, so the images an attack cannot break (the slow ones) are shared out.
      const size =
        workers === 1 ? CHUNK : Math.max(1, Math.min(CHUNK, Math.ceil(todo.length / (4 * workers))));
      const starts = Array.from({ length: Math.ceil(todo.length / size) }, (_, k) => k * size);
      const taskOf = (start: number): Omit<RobustnessTask, 'port'> => {
        const rows = todo.slice(start, start + size);
        const given = rows.map((i) => labels[i]);
        return {
          kind: 'robustness',
          paths: rows.map((i) => inputs[i].path),
          ...(given.every((l) => l !== undefined) && { labels: given as number[] }),
          settings,
        };
      };
      const onResult = async (start: number, result: RobustnessTaskResult) => {
        const { curve, crops } = result;
        const rows = todo.slice(start, start + size);
        const images: ImageRecord[] = [];
        for (const [k, i] of rows.entries()) {
          const example = curve.examples[k];
          images.push({
            image: inputs[i].path,
            sha256: hashes[i],
            label: curve.labels[k],
            clean: curve.brokenAt[k] !== 0,
            brokenAt: curve.brokenAt[k],
            brokenBy: curve.brokenBy[k],
            ...(example && {
              rounded: await checkRounded(
                classifier,
                example,
                crops[k],
                curve.labels[k],
                flags.saveAdversarial,
                names[i],
              ),
            }),
          });
        }
        const chunk = { images, counts: curve.counts };
        chunks.push(chunk);
        if (flags.state) await appendChunk(flags.state, chunk);
        running.delete(start);
        finished += rows.length;
        bar.update(finished);
      };
      await withInterrupt(async (signal) => {
        try {
          if (workers === 1) {
            for (const start of starts)
              await onResult(
                start,
                await runRobustnessTask(classifier, taskOf(start), signal, onProgress(start)),
              );
            return;
          }
          const { TaskPool, runOnPool } = await import('../runner/pool.js');
          const pool = new TaskPool(
            { model: classifier.source, labels: flags.labels, output: flags.logits, threads },
            workers,
            flags.workerMemory,
          );
          try {
            await runOnPool(pool, starts, {
              run: (start) => pool.runRobustness(taskOf(start), onProgress(start)),
              onResult,
              signal,
            });
          } finally {
            await pool.destroy();
          }
        } catch (err) {
          if (signal.aborted && flags.state)
            throw new InterruptedError(
              `${finished} of ${inputs.length} images are in ${flags.state}: run the same command again to continue`,
            );
          throw err;
        }
      }).finally(() => bar.stop());
      await report(classifier, inputs, chunks, hashes, eps, norm, flags, outputs);
    } finally {
      await classifier.dispose();
    }
  });
}

/** Joins the chunks into the report: the plot, and RobustBench's numbers as text or JSON. */
async function report(
  classifier: Classifier,
  inputs: ImageInput[],
  chunks: ChunkRecord[],
  hashes: string[],
  eps: number[],
  norm: BudgetNorm,
  flags: RobustnessFlags,
  outputs: OutputSet,
): Promise<void> {
  const byKey = new Map(chunks.flatMap((c) => c.images.map((r) => [`${r.image}\0${r.sha256}`, r] as const)));
  const records = inputs.map((input, i) => byKey.get(`${input.path}\0${hashes[i]}`)!);
  const n = records.length;
  const accuracy = eps.map((e) => records.filter((r) => r.brokenAt === null || r.brokenAt > e).length / n);
  const cleanAccuracy = records.filter((r) => r.clean).length / n;
  const counts = new Map<string, AttackCount>();
  for (const c of chunks.flatMap((ch) => ch.counts)) {
    const key = `${c.eps}\0${c.attack}`;
    const sum = counts.get(key) ?? { eps: c.eps, attack: c.attack, attacked: 0, broke: 0 };
    counts.set(key, { ...sum, attacked: sum.attacked + c.attacked, broke: sum.broke + c.broke });
  }
  const broken = records.filter((r) => r.rounded);
  const rounding = {
    adversarial: broken.length,
    stayAdversarial: broken.filter((r) => r.rounded!.adversarial).length,
    checkedFromFiles: Boolean(flags.saveAdversarial),
  };
  // Without true labels, "accuracy" is how often the attacked prediction stays the clean one.
  const trueLabels = flags.labelsFrom === 'filename' || inputs.every((i) => i.label !== undefined);
  const against = trueLabels
    ? flags.labelsFrom === 'filename'
      ? 'the labels in the file names'
      : "the manifest's labels"
    : "the model's own predictions on the clean images";
  const normName = norm === 'linf' ? 'L∞' : 'L2';
  const unitsName = flags.units === '0-255' ? '0-255 pixel units' : '[0, 1] units';
  const png = await linePlot([{ x: eps, y: accuracy, label: `${TITLES[flags.attack]} (${normName})` }], {
    title: `Robustness of ${basename(flags.model ?? 'squeezenet1_1', '.onnx')} on ${n} image${n === 1 ? '' : 's'}`,
    xLabel: `ε (${normName}, ${unitsName})`,
    yLabel: trueLabels ? 'robust accuracy' : 'agreement with clean predictions',
    yRange: [0, 1],
    xTicks: eps,
    percent: true,
  });
  await outputs.write({ [flags.output]: png });
  // Below one 8-bit level, rounding within ε can only give back the original image.
  const belowOneLevel = eps.filter((e) => e > 0 && e * (flags.units === '0-255' ? 1 : 255) < 1);
  const summary = {
    attack: flags.attack,
    ...(flags.attack === 'autoattack' && { version: flags.autoattackVersion ?? 'standard' }),
    norm,
    units: flags.units,
    labelsFrom: flags.labelsFrom,
    accuracyAgainst: against,
    eps,
    accuracy,
    cleanAccuracy,
    broke: [...counts.values()],
    rounding,
    images: records.map((r) => ({
      image: r.image,
      label: { index: r.label, name: classifier.labels.name(r.label) },
      clean: r.clean,
      brokenAt: r.brokenAt,
      brokenBy: r.brokenBy,
      ...(r.rounded && { rounded: r.rounded }),
    })),
    output: flags.output,
  };
  if (flags.json) {
    printJson(summary);
    return;
  }
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  out(`accuracy against ${against}${trueLabels ? '' : ' (--labels-from filename for true labels)'}:`);
  out(`clean accuracy ${pct(cleanAccuracy)} (${Math.round(cleanAccuracy * n)} of ${n})`);
  for (const [k, e] of eps.entries()) {
    if (e === 0) continue;
    const per = [...counts.values()].filter((c) => c.eps === e).map((c) => `${c.attack} broke ${c.broke}`);
    out(
      `ε ${e} (${normName}, ${unitsName}): robust accuracy ${pct(accuracy[k])} (${Math.round(accuracy[k] * n)} of ${n})` +
        (per.length ? `; ${per.join(', ')}` : ''),
    );
  }
  if (rounding.adversarial > 0) {
    out(
      `rounded to 8 bits within ε: ${rounding.stayAdversarial} of ${rounding.adversarial} adversarial images stay adversarial` +
        (rounding.checkedFromFiles ? ` (checked from the files in ${flags.saveAdversarial})` : ''),
    );
    if (belowOneLevel.length > 0)
      out(
        `  ε ${belowOneLevel.join(', ')} is below one 8-bit level: rounding within it gives back the original image, so no adversarial image survives`,
      );
  }
  out(`wrote ${flags.output}`);
}
