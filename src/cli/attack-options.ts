// Flags that netvis attack and netvis robustness share for the float-domain attacks (APGD, FAB, Square, AutoAttack).
import { Option, type Command } from 'commander';
import { positiveInt } from './shared.js';

/** Adds --target-classes, --queries and --autoattack-version (AutoAttack's n_target_classes, n_queries, version; --version is netvis's own). */
export function withAutoAttackOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--target-classes <n>',
        'apgd-t, fab, autoattack: target classes tried (default 9)',
      ).argParser(positiveInt('--target-classes')),
    )
    .addOption(
      new Option('--queries <n>', 'square, autoattack: Square queries per image (default 5000)').argParser(
        positiveInt('--queries'),
      ),
    )
    .addOption(
      new Option(
        '--autoattack-version <name>',
        "autoattack: 'standard' or 'rand' (for randomised defences)",
      ).choices(['standard', 'rand']),
    );
}
