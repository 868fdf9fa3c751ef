/**
 * The verbs around pods and nodes — run, logs, exec, top, node ls|cordon|uncordon|drain — with kubectl's
 * flags where kubectl has the verb. Only the command tree is built here; implementations load when run.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { withKubeFlags } from './kube-session.js';

type Opts = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
/** passThroughOptions keeps the `--` that separates the command: drop it. */
const afterDashes = (args: string[]) => (args[0] === '--' ? args.slice(1) : args);
const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerPodCommands(program: Command, ctx: CliContext): void {
  withKubeFlags(program.command('run').description('run IMAGE in a new pod (--rm: stream its output, wait, remove it; -it: a terminal)').argument('<image>').argument('[command...]', 'the command (replaces the image\'s CMD)'))
    .passThroughOptions()
    .option('--name <name>', 'the pod name (default: IMAGE-xxxxx)')
    .option('--rm', 'stream the output, wait until the pod finishes, exit with its code and delete it')
    .option('-i, --stdin', 'keep stdin open (with -t: an interactive terminal)')
    .option('-t, --tty', 'allocate a terminal')
    .option('--restart <policy>', 'Always, OnFailure or Never (default: Never with --rm or -it, else Always)')
    .option('-e, --env <NAME=VALUE>', 'an environment variable (repeatable)', collect)
    .option('-l, --labels <k=v,...>', 'pod labels (default run=NAME)')
    .option('--image-pull-policy <policy>', 'Always, IfNotPresent or Never')
    .option('--timeout <seconds>', 'how long to wait for the pod to start and finish (default 300)')
    .option('--runtime-class <name>', 'the RuntimeClass that runs the pod (e.g. nubis-microvm: a VM with its own kernel)')
    .action(async (image: string, command: string[], o: Opts) => (await import('./kube-pod-run.js')).runRun(ctx, image, afterDashes(command), o));

  withKubeFlags(program.command('logs').description('print the log of a container in a pod').argument('<pod>', 'POD | TYPE/NAME (a pod of a deployment, job…)'))
    .option('-c, --container <name>', 'the container (default: the only one)')
    .option('-f, --follow', 'keep printing as the container writes')
    .option('--tail <lines>', 'only the last lines (-1: all)')
    .option('-p, --previous', 'the log of the previous instance of the container')
    .option('--timestamps', 'prefix each line with its time')
    .action(async (pod: string, o: Opts) => (await import('./kube-pod-run.js')).runLogs(ctx, pod, o));

  withKubeFlags(program.command('exec').description('run a command in a container of a pod').argument('<pod>', 'POD | TYPE/NAME').argument('[command...]', 'after --: the command and its arguments'))
    .passThroughOptions()
    .option('-c, --container <name>', 'the container (default: the only one)')
    .option('-i, --stdin', 'pass stdin to the command')
    .option('-t, --tty', 'allocate a terminal')
    .action(async (pod: string, command: string[], o: Opts) => (await import('./kube-pod-run.js')).runExec(ctx, pod, afterDashes(command), o));

  const top = program.command('top').description('CPU and memory of nodes and pods (from the agents\' cgroup figures)');
  withKubeFlags(top.command('nodes').alias('node').alias('no').description('CPU and memory of nodes').argument('[names...]'), false)
    .option('--no-headers', 'no header line')
    .action(async (names: string[], o: Opts) => (await import('./kube-node.js')).runTopNodes(ctx, names, { ...o, noHeaders: o.headers === false }));
  withKubeFlags(top.command('pods').alias('pod').alias('po').description('CPU and memory of pods').argument('[names...]'))
    .option('-A, --all-namespaces', 'pods of every namespace')
    .option('--containers', 'a line per container')
    .option('--no-headers', 'no header line')
    .action(async (names: string[], o: Opts) => (await import('./kube-node.js')).runTopPods(ctx, names, { ...o, noHeaders: o.headers === false }));

  const node = program.command('node').description('the machines of the cloud: list, cordon, uncordon, drain');
  withKubeFlags(node.command('ls').alias('list').description('list the nodes').argument('[names...]'), false)
    .option('-o, --output <format>', 'wide | yaml | json | name')
    .action(async (names: string[], o: Opts) => (await import('./kube-get.js')).runGet(ctx, ['nodes', ...names], o));
  withKubeFlags(node.command('cordon').description('mark nodes unschedulable').argument('<names...>'), false).action(async (names: string[], o: Opts) =>
    (await import('./kube-node.js')).runCordon(ctx, names, o, true),
  );
  withKubeFlags(node.command('uncordon').description('mark nodes schedulable again').argument('<names...>'), false).action(async (names: string[], o: Opts) =>
    (await import('./kube-node.js')).runCordon(ctx, names, o, false),
  );
  withKubeFlags(node.command('drain').description('cordon a node and evict its pods (their controllers recreate them elsewhere)').argument('<name>'), false)
    .option('--ignore-daemonsets', 'leave DaemonSet pods (they would come back at once)')
    .option('--delete-emptydir-data', 'evict pods with emptyDir volumes (their data is lost)')
    .option('--force', 'also evict pods no controller manages (they are not recreated)')
    .option('--grace-period <seconds>', 'the pods\' termination grace period (-1: their own)')
    .option('--timeout <duration>', 'give up after this long (e.g. 5m; default: no limit)')
    .action(async (name: string, o: Opts) => (await import('./kube-node.js')).runDrain(ctx, name, o));
}
