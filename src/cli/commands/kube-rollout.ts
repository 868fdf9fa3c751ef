/**
 * `nubis scale` and `nubis rollout status|history|undo|restart|pause|resume`, with kubectl's flags and
 * messages. Only the command tree is built here; the implementation loads when a verb runs.
 */
import type { Command } from 'commander';
import { invalid } from '../../lib/errors.js';
import type { CliContext } from '../context.js';
import { withKubeFlags } from './kube-session.js';

type Opts = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const int = (name: string) => (v: string) => {
  if (!/^\d+$/.test(v)) throw invalid(`--${name} takes a non-negative integer, not "${v}"`);
  return Number(v);
};

export function registerRolloutCommands(program: Command, ctx: CliContext): void {
  withKubeFlags(program.command('scale').description('set the replicas of deployments and replica sets').argument('<resources...>', 'TYPE NAME... | TYPE/NAME...'))
    .requiredOption('--replicas <n>', 'the new number of replicas', int('replicas'))
    .option('--current-replicas <n>', 'only scale when the current replicas are this many', int('current-replicas'))
    .action(async (args: string[], o: Opts) => (await import('./kube-rollout-run.js')).runScale(ctx, args, o as never));

  const rollout = program.command('rollout').description('manage the rollout of deployments and daemon sets');
  const verb = (name: string, description: string) => withKubeFlags(rollout.command(name).description(description).argument('<resource...>', 'TYPE NAME | TYPE/NAME'));
  verb('status', 'wait for a rollout to finish, printing its progress')
    .option('-w, --watch [bool]', 'wait until the rollout finishes (false: print the state once)', 'true')
    .option('--timeout <duration>', 'give up after this long (e.g. 5m, 30s; 0: never)', '0')
    .option('--revision <n>', 'wait for this revision', int('revision'))
    .action(async (args: string[], o: Opts) => (await import('./kube-rollout-run.js')).runRolloutStatus(ctx, args, o as never));
  verb('history', 'list the revisions of a rollout, or show one with --revision')
    .option('--revision <n>', 'show the pod template of this revision', int('revision'))
    .action(async (args: string[], o: Opts) => (await import('./kube-rollout-run.js')).runRolloutHistory(ctx, args, o as never));
  verb('undo', 'go back to the previous revision, or to --to-revision')
    .option('--to-revision <n>', 'the revision to go back to (0: the previous one)', int('to-revision'), 0)
    .action(async (args: string[], o: Opts) => (await import('./kube-rollout-run.js')).runRolloutUndo(ctx, args, o as never));
  verb('restart', 'replace every pod by a rolling update')
    .action(async (args: string[], o: Opts) => (await import('./kube-rollout-run.js')).runRolloutRestart(ctx, args, o as never));
  verb('pause', 'stop rolling out template changes')
    .action(async (args: string[], o: Opts) => (await import('./kube-rollout-run.js')).runRolloutPause(ctx, args, o as never, true));
  verb('resume', 'roll out template changes again')
    .action(async (args: string[], o: Opts) => (await import('./kube-rollout-run.js')).runRolloutPause(ctx, args, o as never, false));
}
