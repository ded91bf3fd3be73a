// Issue 11's promises for the CLI: outputs checked before any work and written as a set, one-line input errors with
// the right exit code, bounded flags, progress when not on a terminal, and numbers that say what they mean.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { OutputError, UsageError } from '../src/cli/errors.js';
import { planOutputs } from '../src/cli/outputs.js';
import { progressBar } from '../src/cli/progress.js';
import { REPORT_SETTINGS } from '../src/cli/attribute.js';
import { ATTRIBUTION_METHODS, methodCost } from '../src/methods/attribution/registry.js';
import { pngClaiming } from './support/image-files.js';
import { runMain } from './support/main.js';
import { IMAGES, ROOT, runCli } from './support/shared.js';

const IMAGE = join(IMAGES, 'n01667778_terrapin.JPEG');
const tmp = () => mkdtempSync(join(tmpdir(), 'netvis-checks-'));

/** One line on stderr, "netvis: …", no stack trace and no "looks like a bug". */
function oneLineError(stderr: string, message: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line, got: ${stderr}`);
  assert.match(lines[0], /^netvis: /);
  assert.match(lines[0], message);
  assert.doesNotMatch(stderr, /looks like a bug|\n\s+at /);
}

describe('outputs are checked before any work', () => {
  // In this process, so that the time is netvis's own and not Node's start-up on a busy machine; a run that spun
  // (as mkdir -p under /proc did) is cut off and fails.
  const refusedWithin2s = async (args: string[]) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${args.join(' ')}: still running after 2 s`)), 2000);
    });
    try {
      return await Promise.race([runMain(args), late]);
    } finally {
      clearTimeout(timer);
    }
  };

  test('report --out onto an existing file fails at once', async () => {
    const file = join(tmp(), 'taken.txt');
    writeFileSync(file, 'mine\n');
    const run = await refusedWithin2s(['report', '--out', file]);
    assert.equal(run.code, 2, run.stderr);
    oneLineError(run.stderr, /--out .*taken\.txt: is a file; expected a folder/);
  });

  test('an output under /proc/sub (which cannot be made) fails at once instead of spinning', async () => {
    const run = await refusedWithin2s(['saliency', IMAGE, '-o', '/proc/sub/x.png']);
    assert.notEqual(run.code, 0);
    oneLineError(run.stderr, /-o \/proc\/sub\/x\.png: folder \/proc\/sub does not exist/);
  });

  test('--gif into a missing folder: refused before the run, and no PNG is written', async () => {
    const dir = tmp();
    const run = await refusedWithin2s([
      'classviz',
      '--class',
      'tarantula',
      '-o',
      join(dir, 'viz.png'),
      '--gif',
      join(dir, 'missing', 'viz.gif'),
    ]);
    assert.equal(run.code, 2, run.stderr);
    oneLineError(run.stderr, /--gif .*missing\/viz\.gif: folder .*missing does not exist/);
    assert.deepEqual(readdirSync(dir), []);
  });

  test('a folder, a wrong extension, an unwritable folder and two flags naming one file are refused (exit 2)', async () => {
    const dir = tmp();
    const cases: [string[], RegExp][] = [
      [['-o', dir], /-o .*: is a folder; give a file name such as .*out\.png/],
      [['-o', join(dir, 'out.jpg')], /-o .*out\.jpg: netvis writes PNG here; give a name ending in \.png/],
      [['-o', '/proc/x.png'], /-o \/proc\/x\.png: cannot write in \/proc \(/],
    ];
    for (const [flags, message] of cases) {
      const run = await runMain(['saliency', IMAGE, ...flags]);
      assert.equal(run.code, 2, `${flags.join(' ')}: ${run.stderr}`);
      oneLineError(run.stderr, message);
    }
    const same = await runMain([
      'classviz',
      '-c',
      'tarantula',
      '-o',
      join(dir, 'a.png'),
      '--frames',
      join(dir, 'a.png'),
    ]);
    oneLineError(same.stderr, /--frames .*a\.png: the same file as -o .*a\.png/);
    assert.deepEqual(readdirSync(dir), [], 'nothing created, not even a probe');
  });

  test('the set is written whole or not at all', async () => {
    const dir = tmp();
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    const files = [
      { flag: '-o', path: join(dir, 'a.png'), format: 'png' as const },
      { flag: '--gif', path: join(sub, 'b.gif'), format: 'gif' as const },
    ];
    // The second file's folder goes away between the check and the write: the first file must not stay.
    const outputs = await planOutputs(files);
    rmdirSync(sub);
    await assert.rejects(outputs.write({ [files[0].path]: 'png', [files[1].path]: 'gif' }), (err: Error) => {
      assert.ok(err instanceof OutputError);
      assert.match(err.message, /^--gif .*b\.gif: cannot be written \(.*\); nothing was written$/);
      assert.doesNotMatch(err.message, /\.tmp/, 'the temporary file is not named');
      return true;
    });
    assert.deepEqual(readdirSync(dir), []);
    // A folder to make (report --out) is made at write time and removed again on failure.
    const made = join(dir, 'report');
    const report = await planOutputs([{ flag: '--out', path: join(made, 'index.html'), format: 'html' }], {
      flag: '--out',
      path: made,
    });
    assert.deepEqual(readdirSync(dir), [], 'not made while checking');
    await report.write({ [join(made, 'index.html')]: '<!doctype html>' });
    assert.deepEqual(readdirSync(made), ['index.html']);
    await assert.rejects(planOutputs([{ flag: '-o', path: join(dir, 'x'), format: 'png' }]), UsageError);
  });
});

describe('input errors are one line naming the input (exit 1 for bad data, 2 for usage)', () => {
  test('bad images', async () => {
    const dir = tmp();
    const tiny = async (side: number) =>
      sharp({ create: { width: side, height: side, channels: 3, background: '#fff' } })
        .png()
        .toBuffer();
    const files: [string, Buffer | string, RegExp][] = [
      ['empty.jpg', '', /empty\.jpg: empty file \(expected JPEG, PNG or WebP image\)/],
      [
        'huge.png',
        await pngClaiming(20000, 20000),
        /huge\.png: 20000×20000 is above the 268 MP limit; resize it first/,
      ],
      [
        'one.png',
        await tiny(1),
        /one\.png: 1×1 pixels is too small \(expected at least 32 px on the shorter side\)/,
      ],
      ['ten.png', await tiny(10), /ten\.png: 10×10 pixels is too small/],
    ];
    for (const [name, bytes, message] of files) {
      writeFileSync(join(dir, name), bytes);
      const run = await runMain(['classify', join(dir, name)]);
      assert.equal(run.code, 1, `${name}: ${run.stderr}`);
      oneLineError(run.stderr, message);
    }
  });

  test('flags out of bounds', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['classify', IMAGE, '--threads', '100000'],
        /--threads must be an integer from 1 to \d+, got '100000'/,
      ],
      [['classify', IMAGE, '--threads', '0'], /--threads must be an integer from 1/],
      [['fool', IMAGE, '-t', 'stingray', '--lr', '-1'], /--lr must be a positive number, got '-1'/],
      [['classviz', '-c', 'tarantula', '--lr', '0'], /--lr must be a positive number/],
      [['attack', IMAGE, '--eps', '-3'], /--eps must be a number ≥ 0, got '-3'/],
      [['attack', IMAGE, '--method', 'pgd', '--step-size', '-1'], /--step-size must be a positive number/],
      [
        ['featureviz', '--layer', 'features.9', '--grid', '9'],
        /--grid must be ROWSxCOLS .* 1 to 64 channels in all, got '9'/,
      ],
      [['featureviz', '--layer', 'features.9', '--grid', '2x'], /--grid must be ROWSxCOLS/],
      [['featureviz', '--class', 'tarantula', '--batch', '1000'], /--batch must be an integer from 1 to 64/],
      [['classviz', '-c', 'tarantula', '--progress', '--quiet'], /cannot be used with option '-q, --quiet'/],
    ];
    for (const [args, message] of cases) {
      const run = await runMain(args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message, args.join(' '));
      assert.doesNotMatch(run.stderr, /looks like a bug|\n\s+at /);
    }
  });
});

/** A writable that collects what is written to it, as a non-terminal stream. */
function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('progress when stderr is not a terminal', () => {
  test('a line at the start, one every interval (step, total, elapsed, ETA), one at the end; nothing with --quiet', async () => {
    const out = sink();
    let now = 0;
    const bar = progressBar(
      100,
      'featureviz features.9:0',
      {},
      { stream: out.stream, intervalMs: 20, now: () => now },
    );
    now = 4000;
    bar.update(40, 'objective 1.23');
    await new Promise((r) => setTimeout(r, 70));
    now = 10_000;
    bar.update(100);
    bar.stop();
    const lines = out.text().trimEnd().split('\n');
    assert.equal(lines[0], 'featureviz features.9:0: 100 steps');
    assert.ok(lines.length >= 4, `timed lines between start and end: ${lines.join(' | ')}`);
    assert.equal(
      lines[1],
      'featureviz features.9:0: step 40/100 (40%), 4.0 s elapsed, ETA 6.0 s · objective 1.23',
    );
    assert.equal(lines.at(-1), 'featureviz features.9:0: ended at step 100/100 after 10.0 s');

    const quiet = sink();
    const silent = progressBar(100, 'x', { quiet: true }, { stream: quiet.stream, intervalMs: 5 });
    silent.update(50);
    await new Promise((r) => setTimeout(r, 20));
    silent.stop();
    assert.equal(quiet.text(), '');
  });

  test('estimated work (the report): lines show the percentage only, the ETA from the work done', () => {
    const out = sink();
    let now = 0;
    const bar = progressBar(
      800,
      'report',
      { progress: true },
      { stream: out.stream, now: () => now, percent: true },
    );
    now = 5000;
    bar.update(200, 'RISE');
    now = 20_000;
    bar.update(800);
    bar.stop();
    assert.deepEqual(out.text().trimEnd().split('\n'), [
      'report: started',
      'report: 25%, 5.0 s elapsed, ETA 15.0 s · RISE',
      'report: 100%, 20.0 s elapsed',
      'report: ended at 100% after 20.0 s',
    ]);
  });

  test("the report's work estimates: each method's model runs per image at the report's settings", () => {
    const entry = (name: string) => ATTRIBUTION_METHODS.find((m) => m.name === name)!;
    // RISE: one forward pass per mask; Occlusion: 32-pixel windows every 16 pixels on 224 → 13 × 13 positions;
    // Integrated Gradients: a gradient (3 forward passes) per path point; Saliency: one gradient.
    assert.equal(methodCost(entry('rise'), REPORT_SETTINGS.rise), 250);
    assert.equal(methodCost(entry('rise')), 4000);
    assert.equal(methodCost(entry('occlusion')), 169);
    assert.equal(methodCost(entry('occlusion'), { window: 56, stride: 56 }), 16);
    assert.equal(methodCost(entry('ig'), REPORT_SETTINGS.ig), 60);
    assert.equal(methodCost(entry('saliency')), 3);
    assert.equal(methodCost(entry('kernel-shap'), REPORT_SETTINGS['kernel-shap']), 100);
  });

  test('a real run: progress on stderr, JSON alone on stdout; --quiet prints no progress', async () => {
    const args = ['fool', IMAGE, '--target', 'stingray', '--max-iterations', '2', '-o', join(tmp(), 'f.png')];
    const run = await runCli([...args, '--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /^fooling: 2 steps\n(.*\n)*fooling: ended at step 2\/2 after \d+\.\d s\n$/);
    assert.equal(JSON.parse(run.stdout).iterations, 2);
    const quiet = await runMain([...args, '--quiet']);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, '');
  });
});

describe('numbers say what they mean', () => {
  test("evaluate explains 'flagged'", async () => {
    const run = await runMain(['evaluate', IMAGE, '--check', 'randomization', '--layers', '1']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /flagged \(ρ ≥ 0\.8\)/);
    assert.match(
      run.stdout,
      /\nflagged: images whose map, after randomising the layers, still has Spearman ρ ≥ 0\.8/,
    );
  });

  test('robustness says what its accuracy is measured against', async () => {
    const base = ['robustness', IMAGE, '--attack', 'fgsm', '--eps', '0', '-o', join(tmp(), 'r.png')];
    const own = await runMain(base);
    assert.equal(own.code, 0, own.stderr);
    assert.match(
      own.stdout,
      /^accuracy against the model's own predictions on the clean images \(--labels-from filename for true labels\):\n/,
    );
    const labelled = await runMain([...base, '--labels-from', 'filename', '--json']);
    assert.equal(JSON.parse(labelled.stdout).accuracyAgainst, 'the labels in the file names');
  });
});

test('a reader that closes stdout early (netvis … | head) does not crash the command, which still writes its files', async () => {
  const out = join(tmp(), 'r.png');
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin', 'netvis.js'), 'robustness', IMAGE, '--attack', 'fgsm', '--eps', '0,1', '-o', out],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.destroy(); // every write to stdout now fails with EPIPE
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE|Unhandled/);
  assert.ok(existsSync(out));
});

test('an output that is also an input is refused before any work, and the input stays as it was', async () => {
  const dir = tmp();
  const input = join(dir, 'in.png');
  await sharp(IMAGE).resize(64, 64).png().toFile(input);
  const before = readFileSync(input);
  const run = await runMain(['saliency', input, '-o', input]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /^netvis: -o .*in\.png: is also an input of this command; give another name\n$/);
  assert.deepEqual(readFileSync(input), before);
});

test('report --methods names a method that cannot explain the model: exit 1 naming it, nothing written', async () => {
  const out = join(tmp(), 'report');
  const run = await runMain(['report', '--methods', 'gradcam,rollout', '--out', out]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(
    run.stderr,
    /^netvis: --methods: rollout cannot explain .*squeezenet1_1\.onnx \(attention methods need/,
  );
  assert.ok(!existsSync(out));
  const unknown = await runMain(['report', '--methods', 'gradcam,foo', '--out', out]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^netvis: --methods: unknown method 'foo'/);
});
