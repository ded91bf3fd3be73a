// Property-based fuzzing (fast-check, seeded) of everything netvis parses: ONNX bytes, image bytes, sidecar and labels
// JSON, and command lines. Each case must end within 2 s, either in a result or in a one-line netvis error (no hang, no
// crash, no raw engine message, nothing that "looks like a bug"). NETVIS_FUZZ_SEED and NETVIS_FUZZ_RUNS override the
// seed and the number of cases; fast-check prints the seed and the failing case's path.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import sharp from 'sharp';
import { isExpected } from '../src/cli/errors.js';
import { program } from '../src/cli/main.js';
import { decodeImage } from '../src/image/index.js';
import { loadClassifier } from '../src/model/load.js';
import { runMain } from './support/main.js';
import { FIXTURES, IMAGES } from './support/shared.js';

const SEED = Number(process.env.NETVIS_FUZZ_SEED ?? 20261130);
const RUNS = Number(process.env.NETVIS_FUZZ_RUNS ?? 200);
const CASE_MS = 2000;
const settings = { seed: SEED, numRuns: RUNS, timeout: CASE_MS, endOnFailure: true };

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'netvis-fuzz-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Asserts `err` is an error netvis means to show a user: an expected kind, one line, naming what went wrong. */
function assertNetvisError(err: unknown, context: string): void {
  assert.ok(err instanceof Error, `${context}: threw a non-error ${String(err)}`);
  assert.ok(isExpected(err), `${context}: ${err.name} is not a netvis error: ${err.message}`);
  assert.doesNotMatch(err.message, /\n/, `${context}: more than one line: ${err.message}`);
  assert.doesNotMatch(
    err.message,
    /^\[?ONNXRuntimeError|^Error: |^VipsJpeg|^vips_/,
    `${context}: raw engine message`,
  );
}

/** Runs `fn`, failing if it takes more than CASE_MS. */
async function within<T>(fn: () => Promise<T>, context: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${context}: still running after ${CASE_MS} ms`)), CASE_MS);
  });
  try {
    return await Promise.race([fn(), late]);
  } finally {
    clearTimeout(timer);
  }
}

// ---- byte mutations ----------------------------------------------------------------------------------------------

type Mutation =
  | { kind: 'flips'; flips: { at: number; value: number }[] }
  | { kind: 'truncate'; at: number }
  | { kind: 'length'; which: number; value: number };

const byteMutation = (lengthSites: boolean): fc.Arbitrary<Mutation> =>
  fc.oneof(
    fc.record({
      kind: fc.constant('flips' as const),
      flips: fc.array(fc.record({ at: fc.nat(), value: fc.nat(255) }), { minLength: 1, maxLength: 16 }),
    }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    ...(lengthSites
      ? [
          fc.record({
            kind: fc.constant('length' as const),
            which: fc.nat(),
            value: fc.constantFrom(0, 1, 0x7fff_ffff, 0xffff_fff0, 2 ** 31 + 7, 65535, 1e9),
          }),
        ]
      : []),
  );

/** Protobuf varint bytes of `n` (up to 2^53). */
function varint(n: number): number[] {
  const out: number[] = [];
  do {
    out.push((n % 128) | (n >= 128 ? 128 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  return out;
}

function readVarint(b: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  let i = at;
  while (i < b.length) {
    value += (b[i] & 127) * scale;
    scale *= 128;
    if (b[i++] < 128) break;
  }
  return [value, i];
}

// Where length prefixes sit in a ModelProto: its fields, the graph's, and those of its nodes and initializers.
function protobufLengthSites(
  b: Uint8Array,
  start = 0,
  end = b.length,
  depth = 0,
  out: [number, number][] = [],
) {
  for (let i = start; i < end;) {
    const [tag, afterTag] = readVarint(b, i);
    const wire = tag & 7;
    if (wire === 0) i = readVarint(b, afterTag)[1];
    else if (wire === 1) i = afterTag + 8;
    else if (wire === 5) i = afterTag + 4;
    else if (wire === 2) {
      const [len, body] = readVarint(b, afterTag);
      out.push([afterTag, body - afterTag]);
      // ModelProto.graph (7), GraphProto.node (1) and initializer (5), NodeProto.attribute (5).
      if (depth < 3 && [7, 1, 5].includes(tag >> 3)) protobufLengthSites(b, body, body + len, depth + 1, out);
      i = body + len;
    } else break;
  }
  return out;
}

// PNG chunk lengths (4 bytes before each type), JPEG segment lengths, RIFF/WebP chunk sizes.
function containerLengthSites(b: Uint8Array): [number, number][] {
  const sites: [number, number][] = [];
  if (b[0] === 0x89) for (let i = 8; i + 8 <= b.length; i += 12 + readU32BE(b, i)) sites.push([i, 4]);
  else if (b[0] === 0xff) {
    for (
      let i = 2;
      i + 4 <= b.length && b[i] === 0xff && b[i + 1] !== 0xda;
      i += 2 + (b[i + 2] * 256 + b[i + 3])
    )
      sites.push([i + 2, 2]);
  } else {
    sites.push([4, 4]);
    for (let i = 12; i + 8 <= b.length; i += 8 + readU32LE(b, i + 4) + (readU32LE(b, i + 4) & 1))
      sites.push([i + 4, 4]);
  }
  return sites;
}
const readU32BE = (b: Uint8Array, i: number) =>
  ((b[i] << 24) >>> 0) + (b[i + 1] << 16) + (b[i + 2] << 8) + b[i + 3];
const readU32LE = (b: Uint8Array, i: number) =>
  b[i] + (b[i + 1] << 8) + (b[i + 2] << 16) + ((b[i + 3] << 24) >>> 0);

function mutate(bytes: Uint8Array, m: Mutation, sites: [number, number][], protobuf: boolean): Uint8Array {
  if (m.kind === 'truncate') return bytes.slice(0, m.at % bytes.length);
  if (m.kind === 'flips') {
    const out = bytes.slice();
    for (const f of m.flips) out[f.at % out.length] = f.value;
    return out;
  }
  const [at, size] = sites[m.which % sites.length];
  let field: number[];
  if (protobuf) field = varint(m.value);
  else {
    field = Array.from({ length: size }, (_, k) => Math.floor(m.value / 256 ** (size - 1 - k)) % 256);
    if (bytes[0] !== 0x89 && bytes[0] !== 0xff) field.reverse(); // RIFF is little-endian
  }
  return Uint8Array.from([...bytes.subarray(0, at), ...field, ...bytes.subarray(at + size)]);
}

// ---- the model fixture -------------------------------------------------------------------------------------------

const MODEL = join(FIXTURES, 'resblock.onnx');
const LABELS = Array.from({ length: 10 }, (_, i) => `shape ${i}`);

/** Writes `bytes` as a model with a sidecar in a fresh folder; returns its path. */
function modelCase(bytes: Uint8Array, sidecar: string | undefined, n: number): string {
  const caseDir = join(dir, `case-${n}`);
  mkdirSync(caseDir);
  writeFileSync(join(caseDir, 'model.onnx'), bytes);
  if (sidecar !== undefined) writeFileSync(join(caseDir, 'model.json'), sidecar);
  return join(caseDir, 'model.onnx');
}

/** Loads a model and runs it once on a blank input of its crop size: where the engine reads the graph. */
async function loadAndRun(path: string, labels?: string): Promise<void> {
  const classifier = await loadClassifier({ model: path, labels, threads: 1 });
  try {
    const side = classifier.preprocessing.crop;
    const logits = await classifier.logits({
      data: new Float32Array(3 * side * side),
      dims: [1, 3, side, side],
    });
    assert.equal(logits.dims[0], 1);
  } finally {
    await classifier.dispose();
  }
}

let counter = 0;

describe(`fuzzing (seed ${SEED}, ${RUNS} cases per parser)`, () => {
  test('mutated ONNX bytes (flips, truncations, huge length prefixes) through model loading', async () => {
    const original = new Uint8Array(readFileSync(MODEL));
    const sites = protobufLengthSites(original);
    assert.ok(sites.length > 20, `length prefixes found: ${sites.length}`);
    const sidecar = JSON.stringify({ labels: LABELS, preprocessing: { resize: 32, crop: 32 } });
    await loadAndRun(modelCase(original, sidecar, counter++)); // the unmutated model loads
    await fc.assert(
      fc.asyncProperty(byteMutation(true), async (m) => {
        const path = modelCase(mutate(original, m, sites, true), sidecar, counter++);
        try {
          await within(() => loadAndRun(path), JSON.stringify(m));
        } catch (err) {
          assertNetvisError(err, JSON.stringify(m));
          assert.match((err as Error).message, /model\.onnx/, 'the message names the model');
        }
      }),
      settings,
    );
  });

  for (const format of ['jpeg', 'png', 'webp'] as const) {
    test(`mutated ${format.toUpperCase()} bytes through decoding`, async () => {
      const original = new Uint8Array(
        await sharp(join(IMAGES, 'n01774750_tarantula.JPEG')).resize(48, 40).toFormat(format).toBuffer(),
      );
      const sites = containerLengthSites(original);
      assert.ok(sites.length >= 2, `${format}: length fields found: ${sites.length}`);
      assert.equal((await decodeImage(original)).width, 48);
      await fc.assert(
        fc.asyncProperty(byteMutation(true), async (m) => {
          const bytes = mutate(original, m, sites, false);
          try {
            const img = await within(() => decodeImage(bytes, `fuzz.${format}`), JSON.stringify(m));
            assert.equal(img.data.length, img.width * img.height * 3);
          } catch (err) {
            assertNetvisError(err, JSON.stringify(m));
            assert.match(
              (err as Error).message,
              new RegExp(`^fuzz\\.${format}: `),
              'the message names the file',
            );
          }
        }),
        settings,
      );
    });
  }

  test('random sidecar JSON and labels files through model loading', async () => {
    const original = new Uint8Array(readFileSync(MODEL));
    const number = fc.oneof(
      fc.integer({ min: -5, max: 300 }),
      fc.double(),
      fc.constantFrom(1e9, 2 ** 31, 0.5),
    );
    const anything = fc.jsonValue({ maxDepth: 2 });
    const preprocessing = fc.oneof(
      anything,
      fc.record(
        {
          resize: fc.oneof(number, anything),
          crop: fc.oneof(number, anything),
          mean: fc.oneof(fc.array(number, { maxLength: 4 }), anything),
          std: fc.oneof(fc.array(number, { maxLength: 4 }), anything),
        },
        { requiredKeys: [] },
      ),
    );
    const labels = fc.oneof(
      anything,
      fc.array(fc.oneof(fc.string(), fc.record({ wnid: anything, names: anything }, { requiredKeys: [] })), {
        maxLength: 12,
      }),
      fc.constant(LABELS),
      fc.string(),
    );
    const sidecar = fc.oneof(
      fc
        .record(
          {
            labels,
            preprocessing,
            input: fc.oneof(fc.constant('input'), fc.string(), anything),
            output: fc.oneof(fc.constant('logits'), fc.string(), anything),
            layout: fc.oneof(fc.constantFrom('NCHW', 'NHWC'), anything),
          },
          { requiredKeys: [] },
        )
        .map((o) => JSON.stringify(o)),
      anything.map((v) => JSON.stringify(v)),
      fc.string(), // not JSON at all
    );
    const labelsFile = fc.option(
      fc.oneof(
        labels.map((v) => JSON.stringify(v)),
        fc.string(),
      ),
      { nil: undefined },
    );
    await fc.assert(
      fc.asyncProperty(sidecar, labelsFile, async (side, labelsText) => {
        const path = modelCase(original, side, counter++);
        let labelsPath: string | undefined;
        if (labelsText !== undefined) {
          labelsPath = join(dir, `case-${counter - 1}`, 'labels.json');
          writeFileSync(labelsPath, labelsText);
        }
        const context = `sidecar ${side} labels ${labelsText}`;
        try {
          await within(() => loadAndRun(path, labelsPath), context);
        } catch (err) {
          assertNetvisError(err, context);
        }
      }),
      settings,
    );
  });

  test('random command lines through the CLI', async () => {
    const cwd = join(dir, 'cli');
    mkdirSync(cwd);
    const textFile = join(cwd, 'notes.jpg');
    writeFileSync(textFile, 'not an image\n');
    writeFileSync(join(cwd, 'empty.png'), '');
    writeFileSync(
      join(cwd, 'tiny.png'),
      await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } })
        .png()
        .toBuffer(),
    );
    const fixtures = new Set(readdirSync(cwd));
    const root = program();
    // Each command with its own long flags, except those that change where models come from or print stack traces
    // on purpose.
    const excluded = ['--model', '--labels', '--debug'];
    // A command with subcommands only (`models`) has no flags of its own: '--help' stands in.
    const specs = root.commands.map((c) => {
      const flags = c.options.map((o) => o.long ?? '').filter((f) => f && !excluded.includes(f));
      return { name: c.name(), flags: flags.length ? flags : ['--help'] };
    });
    const paths = [
      textFile,
      join(cwd, 'empty.png'),
      join(cwd, 'tiny.png'),
      join(cwd, 'missing.jpg'),
      cwd,
      join(cwd, 'out.png'),
      join(cwd, 'out.jpg'),
      join(cwd, 'out.gif'),
      join(cwd, 'sub', 'out.png'),
      '/proc/sub/x.png',
      '/proc/x.png',
    ];
    const value = fc.oneof(
      fc.constantFrom(...paths),
      fc.constantFrom(
        '0',
        '-1',
        '1e9',
        'NaN',
        'Infinity',
        '1.5',
        '-0',
        '',
        ' ',
        '2x3',
        '0x0',
        '1,2,-3',
        'all',
      ),
      fc.constantFrom('stingray', 'tarantula', 'features.9', 'pgd', 'fft', '0-255', '99999999999999999999'),
      fc.integer().map(String),
      fc.double().map(String),
      fc.string({ maxLength: 10 }),
    );
    // Mostly a real command with its own flags and values and maybe image paths; sometimes anything at all.
    const argv = fc.oneof(
      {
        weight: 9,
        arbitrary: fc
          .constantFrom(...specs)
          .chain((spec) =>
            fc
              .tuple(
                fc.array(fc.constantFrom(...paths), { maxLength: 2 }),
                fc.array(fc.tuple(fc.constantFrom(...spec.flags), value), { maxLength: 5 }),
                fc.array(fc.oneof(fc.constantFrom(...spec.flags, '--help'), value), { maxLength: 2 }),
              )
              .map(([images, pairs, extra]) => [spec.name, ...images, ...pairs.flat(), ...extra]),
          ),
      },
      {
        weight: 1,
        arbitrary: fc.array(fc.oneof(fc.string({ maxLength: 8 }), value), { minLength: 1, maxLength: 6 }),
      },
    );
    await fc.assert(
      fc.asyncProperty(argv, async ([command, ...rest]) => {
        // A model that is not there: every run ends before long work, after the checks of flags, paths and images.
        const args = [command, '--model', join(cwd, 'no-model.onnx'), ...rest];
        const context = JSON.stringify(args);
        const previous = process.cwd();
        process.chdir(cwd);
        let run;
        try {
          run = await within(() => runMain(args), context);
        } finally {
          process.chdir(previous);
        }
        assert.ok([0, 1, 2].includes(run.code), `${context}: exit ${run.code}`);
        if (run.code !== 0) {
          const lines = run.stderr.trimEnd().split('\n');
          assert.equal(lines.length, 1, `${context}: ${run.stderr}`);
          assert.match(lines[0], /^netvis: \S/, context);
          assert.doesNotMatch(run.stderr, /looks like a bug/, `${context}: ${run.stderr}`);
        }
        assert.deepEqual(
          readdirSync(cwd).filter((f) => !fixtures.has(f)),
          [],
          `${context}: nothing is left behind`,
        );
      }),
      settings,
    );
  });
});
