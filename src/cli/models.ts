import { stat } from 'node:fs/promises';
import { Command } from 'commander';
import { NO_GRADIENT, unsupportedOps } from '../autodiff/compile.js';
import { gradientRules } from '../autodiff/rules/index.js';
import type { onnx } from '../onnx/proto.js';
import { findAttentionLayers } from '../methods/attribution/attention.js';
import { findCamLayer } from '../methods/attribution/cam.js';
import { addModel, listModels, removeModel, type ListedModel } from '../model/cache.js';
import { cacheDir } from '../model/find.js';
import { describeImport } from '../model/import.js';
import { ClassLabels } from '../model/labels.js';
import { loadClassifier, readLabels, readSidecar } from '../model/load.js';
import { ModelError } from '../onnx/proto.js';
import { formatDims } from '../onnx/shape.js';
import { downloadProgress } from './download-progress.js';
import { formatBytes, withQuietOption } from './progress.js';
import { UsageError } from './errors.js';
import { classifierFrom, printJson, withInterrupt, withModelOptions, type ModelFlags } from './shared.js';

/** The number of classes a model's labels name, or undefined when they cannot be read. */
async function classCount(path: string): Promise<number | undefined> {
  try {
    const { path: sidecarPath, sidecar } = await readSidecar(path);
    const labels = await readLabels(path, sidecarPath, sidecar);
    return ClassLabels.fromJson(labels.json).size;
  } catch {
    return undefined;
  }
}

/** Op types without a gradient rule among the nodes that depend on `input` other than through its shape. */
function missingRulesOnPath(model: onnx.ModelProto, input: string): string[] {
  const reached = new Set([input]);
  const missing = new Set<string>();
  for (const n of model.graph.node) {
    if (NO_GRADIENT.has(n.opType) || !n.input.some((i) => reached.has(i))) continue;
    for (const o of n.output) reached.add(o);
    if (!gradientRules[n.opType]) missing.add(n.opType);
  }
  return [...missing];
}

function listCommand(): Command {
  return new Command('list')
    .description('the models found by name: shipped, in the cache, in $NETVIS_MODEL_DIR')
    .option('--json', 'print a JSON array')
    .action(async (flags: { json?: boolean }) => {
      const models = await listModels();
      const rows = await Promise.all(
        models.map(async (m: ListedModel) => ({ ...m, classes: await classCount(m.path) })),
      );
      if (flags.json) return printJson(rows);
      const table = [
        ['NAME', 'SIZE', 'CLASSES', 'KIND', 'FROM'],
        ...rows.map((r) => [r.name, formatBytes(r.bytes), String(r.classes ?? '?'), r.kind, r.source]),
      ];
      const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
      for (const row of table)
        process.stdout.write(
          `${row.map((c, i) => (i < row.length - 1 ? c.padEnd(widths[i]) : c)).join('  ')}\n`,
        );
      process.stdout.write(`cache: ${cacheDir()}\n`);
    });
}

function infoCommand(): Command {
  return withModelOptions(
    new Command('info')
      .description(
        'what netvis makes of a model: inputs, outputs, opset, operators with and without gradient rules, logits, layout, batch, Grad-CAM layer',
      )
      .argument('[model]', 'model name, .onnx file or https:// URL (default: the shipped squeezenet1_1)')
      .option('--json', 'print one JSON object'),
  ).action(async (model: string | undefined, flags: ModelFlags & { json?: boolean }) => {
    const classifier = await classifierFrom({ ...flags, model: model ?? flags.model });
    try {
      const report = classifier.report!;
      const counts = new Map<string, number>();
      for (const n of classifier.model.graph.node) counts.set(n.opType, (counts.get(n.opType) ?? 0) + 1);
      const onPath = missingRulesOnPath(classifier.model, classifier.inputName);
      const offPath = [...new Set(unsupportedOps(classifier.model).map((o) => o.opType))].filter(
        (op) => !onPath.includes(op),
      );
      const p = classifier.preprocessing;
      let camLayer: string | undefined;
      try {
        camLayer = await findCamLayer(classifier, [1, 3, p.crop, p.crop]);
      } catch {
        camLayer = undefined;
      }
      const attention = await findAttentionLayers(classifier);
      const info = {
        model: classifier.source,
        bytes: (await stat(classifier.source)).size,
        classes: classifier.numClasses,
        input: { name: report.input.name, dims: formatDims(report.input.dims), layout: report.input.layout },
        outputs: report.outputs.map((o) => ({ name: o.name, dims: formatDims(o.dims) })),
        opset: report.opset,
        operators: Object.fromEntries([...counts].sort((a, b) => b[1] - a[1])),
        withoutGradientRule: { onImagePath: onPath, offImagePath: offPath },
        logits: report.logits,
        fixedBatch: report.fixedBatch ?? null,
        float16: report.float16 ?? null,
        externalData: report.externalData,
        preprocessing: report.preprocessing,
        gradCamLayer: camLayer ?? null,
        attentionLayers: attention,
        decisions: describeImport(report),
      };
      if (flags.json) return printJson(info);
      const lines = [
        `${info.model} (${formatBytes(info.bytes)}, ${info.classes} classes)`,
        `inputs: '${info.input.name}' ${info.input.dims}`,
        `outputs: ${info.outputs.map((o) => `'${o.name}' ${o.dims}`).join(', ')}`,
        ...info.decisions,
        `operators: ${[...counts].map(([op, n]) => `${op} ×${n}`).join(', ')}`,
        onPath.length
          ? `without gradient rules on the image's path: ${onPath.join(', ')} (classify works; gradient methods do not yet)`
          : "gradient rules: every operator on the image's path has one",
        ...(offPath.length
          ? [`without gradient rules off it (shape arithmetic, needs none): ${offPath.join(', ')}`]
          : []),
        `Grad-CAM layer (default): ${camLayer ?? 'none found (no N×C×h×w layer before the classifier)'}`,
        attention.length
          ? `attention layers (rollout, attention-grad): ${attention
              .map(
                (a) =>
                  `${a.layer} (${a.heads} heads, ${a.tokens} tokens${a.windows > 1 ? `, ${a.windows} windows` : ''})`,
              )
              .join(', ')}`
          : 'attention layers: none (no Softmax over tokens that weighs values)',
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    } finally {
      await classifier.dispose();
    }
  });
}

interface AddFlags {
  name?: string;
  sha256?: string;
  labels?: string;
  sidecar?: string;
  json?: boolean;
  quiet?: boolean;
}

function addCommand(): Command {
  return withQuietOption(new Command('add'))
    .description(
      'download (or copy) a model into the cache, checked and written atomically: a failed or interrupted add leaves nothing',
    )
    .argument('<url|path>', 'https:// URL or path of an .onnx file')
    .option('--name <name>', 'name to use it by (default: the file name without .onnx)')
    .option('--sha256 <hex>', 'expected SHA-256 of the .onnx file; refused when it differs')
    .option(
      '--labels <url|path>',
      "labels JSON to fetch beside it, or 'imagenet' for the ImageNet labels netvis ships",
    )
    .option(
      '--sidecar <url|path>',
      'sidecar JSON (preprocessing, input, logits, layout, labels) to fetch beside it',
    )
    .option('--json', 'print a JSON summary')
    .action(async (ref: string, flags: AddFlags) => {
      if (flags.sha256 !== undefined && !/^[0-9a-f]{64}$/i.test(flags.sha256))
        throw new UsageError(`--sha256 must be 64 hex digits, got '${flags.sha256}'`);
      const progress = downloadProgress(flags.quiet || flags.json);
      let path: string;
      try {
        path = await withInterrupt((signal) =>
          addModel(ref, {
            name: flags.name,
            sha256: flags.sha256,
            labels: flags.labels,
            sidecar: flags.sidecar,
            signal,
            onProgress: (file, received, total) => progress.update(file, received, total),
            verify: async (staged) => {
              progress.stop();
              try {
                await (await loadClassifier({ model: staged })).dispose();
              } catch (err) {
                // Name the model as the user gave it, not by its staging path.
                if (err instanceof ModelError) throw new ModelError(err.message.replaceAll(staged, ref));
                throw err;
              }
            },
          }),
        );
      } finally {
        progress.stop();
      }
      const listed = (await listModels()).find((m) => m.path === path)!;
      const summary = {
        name: listed.name,
        path,
        bytes: listed.bytes,
        classes: await classCount(path),
        source: listed.source,
      };
      if (flags.json) printJson(summary);
      else
        process.stdout.write(
          `added ${summary.name}: ${path} (${formatBytes(summary.bytes)}, ${summary.classes} classes)\n`,
        );
    });
}

function removeCommand(): Command {
  return new Command('remove')
    .description('remove a model from the cache')
    .argument('<name>', 'the name `netvis models list` shows')
    .action(async (name: string) => {
      for (const path of await removeModel(name)) process.stdout.write(`removed ${path}\n`);
    });
}

/** `netvis models list|info|add|remove`: the shipped and cached models. */
export function modelsCommand(): Command {
  const cmd = new Command('models').description('list, inspect, add and remove models');
  for (const sub of [listCommand(), infoCommand(), addCommand(), removeCommand()]) cmd.addCommand(sub);
  return cmd;
}
