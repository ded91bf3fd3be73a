import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { attributeCommand } from './attribute.js';
import { classifyCommand } from './classify.js';
import { evaluateCommand } from './evaluate.js';
import { classvizCommand } from './classviz.js';
import { foolCommand } from './fool.js';
import { reportCommand } from './report.js';
import { saliencyCommand } from './saliency.js';
import { serveCommand } from './serve.js';
import { InterruptedError, isAbort, isExpected, isUsage } from './errors.js';
import { benchmarkCommand } from './benchmark.js';
import { workerCommand } from './worker.js';
import { attackCommand } from './attack.js';
import { featurevizCommand } from './featureviz.js';
import { robustnessCommand } from './robustness.js';
import { modelsCommand } from './models.js';
import { setCommandLine } from './outputs.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** Builds the `netvis` command with all its subcommands. */
export function program(): Command {
  const root = new Command('netvis')
    .description(
      'What an image classifier sees: saliency maps, fooling images and class visualizations for ONNX classifiers.',
    )
    .version(version)
    .option('--debug', 'show stack traces of errors')
    .addHelpText(
      'after',
      '\nModels are found by name in $NETVIS_MODEL_DIR, the cache ($NETVIS_CACHE, else ~/.cache/netvis), then the ones netvis ships (netvis models list).\nExamples:\n  netvis classify cat.jpg --top 3\n  netvis report --out report/',
    );
  for (const cmd of [
    reportCommand(),
    classifyCommand(),
    saliencyCommand(),
    foolCommand(),
    classvizCommand(),
    serveCommand(),
    attributeCommand(),
    evaluateCommand(),
    attackCommand(),
    robustnessCommand(),
    featurevizCommand(),
    modelsCommand(),
    benchmarkCommand(),
    workerCommand(),
  ])
    root.addCommand(cmd);
  const all = [root, ...root.commands, ...root.commands.flatMap((c) => c.commands)];
  for (const cmd of all) {
    const path = cmd === root ? [] : cmd.parent === root ? [cmd.name()] : [cmd.parent!.name(), cmd.name()];
    const help = ['netvis', ...path, '--help'].join(' ');
    // Commander's own errors (unknown option, missing argument) as one line, like netvis's.
    cmd.exitOverride().configureOutput({
      outputError: (str, write) =>
        write(
          `netvis: ${str
            .replace(/^error: /, '')
            .trim()
            .replace(/\s*\n\s*/g, ' ')} (see ${help})\n`,
        ),
    });
  }
  return root;
}

/** Runs the CLI on `argv` (without node and script); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const root = program();
  setCommandLine(argv);
  try {
    await root.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (isAbort(err)) {
      const kept = err instanceof InterruptedError ? err.message : 'no output written';
      process.stderr.write(`netvis: interrupted; ${kept}\n`);
      return 130;
    }
    const debug = argv.includes('--debug') || Boolean(process.env.NETVIS_DEBUG);
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`netvis: ${message}\n`);
    if (debug && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    else if (!isExpected(err))
      process.stderr.write('(this looks like a bug; run with --debug for a stack trace)\n');
    return isUsage(err) ? 2 : 1;
  }
}
