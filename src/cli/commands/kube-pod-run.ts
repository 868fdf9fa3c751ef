/**
 * The pod verbs: `nubis logs`, `nubis exec` and `nubis run IMAGE [CMD…]` (a pod; `--rm` streams its log,
 * waits for it to finish, exits with its exit code and removes it; `-it` gives a terminal).
 *
 * `run -it` runs CMD (default `sh`) through exec with the terminal, in a container that keeps a shell
 * waiting (the image needs `sh`); pods/attach exists too (kubectl run -it uses it): moving `run -it`
 * onto it is in NOTES.md.
 */
import { randomBytes } from 'node:crypto';
import type { Pod, ContainerStatus } from '../../api/core/v1/pod-types.js';
import type { KubeObject } from '../../api/meta.js';
import type { ResourceInfo, RestClient } from '../../client/rest-client.js';
import { invalid, isNubisError, notFound } from '../../lib/errors.js';
import type { CliContext } from '../context.js';
import { trace } from '../../lib/trace.js';
import { execInPod } from './kube-exec-stream.js';
import { withSession, type KubeCliContext, type KubeFlags, type KubeSession } from './kube-session.js';

export const PODS: ResourceInfo = { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true };
const WORKLOADS: Record<string, ResourceInfo> = {
  deployment: { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', namespaced: true },
  replicaset: { group: 'apps', version: 'v1', resource: 'replicasets', kind: 'ReplicaSet', namespaced: true },
  daemonset: { group: 'apps', version: 'v1', resource: 'daemonsets', kind: 'DaemonSet', namespaced: true },
  job: { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', namespaced: true },
};
const WORKLOAD_ALIASES: Record<string, string> = { deploy: 'deployment', deployments: 'deployment', rs: 'replicaset', replicasets: 'replicaset', ds: 'daemonset', daemonsets: 'daemonset', jobs: 'job' };

/** A pod name from `POD`, `pod/POD` or `deploy/NAME` (a pod of the workload, as kubectl picks one). */
export async function resolvePod(s: KubeSession, arg: string): Promise<string> {
  const slash = arg.indexOf('/');
  if (slash < 0) return arg;
  const type = arg.slice(0, slash).toLowerCase();
  const name = arg.slice(slash + 1);
  if (['pod', 'pods', 'po'].includes(type)) return name;
  const r = WORKLOADS[WORKLOAD_ALIASES[type] ?? type];
  if (!r) throw invalid(`cannot pick a pod of "${type}": use a pod name, or deployment/, replicaset/, daemonset/ or job/ NAME`);
  const obj = await s.client.get<KubeObject & { spec?: { selector?: { matchLabels?: Record<string, string> } } }>(r, name, { namespace: s.namespace });
  const labels = obj.spec?.selector?.matchLabels ?? {};
  const selector = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
  const pods = (await s.client.list<Pod>(PODS, { namespace: s.namespace, labelSelector: selector })).items.filter((p) => !p.metadata.deletionTimestamp);
  pods.sort((a, b) => Number(b.status?.phase === 'Running') - Number(a.status?.phase === 'Running') || a.metadata.name.localeCompare(b.metadata.name));
  if (pods.length === 0) throw notFound(`${r.kind.toLowerCase()} ${name} has no pods`);
  return pods[0]!.metadata.name;
}

export interface LogsOptions extends KubeFlags {
  container?: string;
  follow?: boolean;
  tail?: string;
  previous?: boolean;
  timestamps?: boolean;
}

export async function runLogs(ctx: CliContext, target: string, o: LogsOptions): Promise<void> {
  await withSession(ctx, o, async (s) => {
    const pod = await resolvePod(s, target);
    const tailLines = o.tail === undefined || o.tail === '-1' ? undefined : Number(o.tail);
    if (tailLines !== undefined && !Number.isInteger(tailLines)) throw invalid(`--tail takes a number of lines, not "${o.tail}"`);
    const stream = await s.client.logStream(s.namespace, pod, { container: o.container, follow: !!o.follow, previous: !!o.previous, timestamps: !!o.timestamps, tailLines });
    for await (const chunk of stream) ctx.stdout.write(chunk as Buffer);
  });
}

export interface ExecFlags extends KubeFlags {
  container?: string;
  stdin?: boolean;
  tty?: boolean;
}

/** Runs with the local terminal in raw mode when -t and stdin is a terminal; restores it after. */
async function withTerminal<T>(ctx: CliContext, tty: boolean, fn: (io: { stdin?: NodeJS.ReadableStream; interactive: boolean }) => Promise<T>, wantStdin: boolean): Promise<T> {
  const stdin = ((ctx as KubeCliContext).stdin ?? process.stdin) as NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => void };
  const raw = tty && wantStdin && stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  if (raw) stdin.setRawMode!(true);
  try {
    return await fn({ stdin: wantStdin ? stdin : undefined, interactive: raw });
  } finally {
    if (raw) stdin.setRawMode!(false);
  }
}

function execSession(ctx: CliContext, client: RestClient, namespace: string, pod: string, command: string[], o: ExecFlags): Promise<number> {
  return withTerminal(
    ctx,
    !!o.tty,
    ({ stdin }) => {
      const out = ctx.stdout as NodeJS.WritableStream & { columns?: number; rows?: number; isTTY?: boolean };
      return execInPod(client, {
        namespace,
        pod,
        container: o.container,
        command,
        stdin,
        stdout: ctx.stdout,
        stderr: ctx.stderr,
        tty: !!o.tty,
        size: () => (out.isTTY && out.columns && out.rows ? { columns: out.columns, rows: out.rows } : undefined),
        resizeEvents: out.isTTY ? (out as unknown as NodeJS.EventEmitter) : undefined,
      });
    },
    !!o.stdin,
  );
}

export async function runExec(ctx: CliContext, target: string, command: string[], o: ExecFlags): Promise<void> {
  if (command.length === 0) throw invalid('exec needs a command after the pod: nubis exec POD -- COMMAND [ARGS…]');
  await withSession(ctx, o, async (s) => {
    const pod = await resolvePod(s, target);
    ctx.exitCode = await execSession(ctx, s.client, s.namespace, pod, command, o);
  });
}

export interface RunFlags extends ExecFlags {
  name?: string;
  rm?: boolean;
  restart?: string;
  env?: string[];
  labels?: string;
  imagePullPolicy?: string;
  timeout?: string;
  runtimeClass?: string;
}

const HOLDER = ['sh', '-c', 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait $!; done'];

/** A DNS-1123 name from the image: `busybox-x7k2q`. */
export function podNameFor(image: string): string {
  const base = image.split('@')[0]!.split('/').pop()!.split(':')[0]!.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 50) || 'pod';
  return `${base}-${randomBytes(4).toString('hex').slice(0, 5)}`;
}

function labelsOf(text: string | undefined, name: string): Record<string, string> {
  if (!text) return { run: name };
  const out: Record<string, string> = {};
  for (const pair of text.split(',').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw invalid(`--labels takes key=value[,key=value], not "${pair}"`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** Follows one pod through a watch; `until` resolves with the first state that satisfies the check. */
class PodWatch {
  #latest: Pod | undefined;
  #gone = false;
  #waiters: Array<() => void> = [];
  #abort = new AbortController();
  #failure: Error | undefined;

  constructor(private readonly client: RestClient, private readonly namespace: string, private readonly name: string) {}

  async start(from: Pod): Promise<void> {
    this.#latest = from;
    const events = await this.client.watch<Pod>(PODS, { namespace: this.namespace, fieldSelector: `metadata.name=${this.name}`, resourceVersion: from.metadata.resourceVersion, signal: this.#abort.signal });
    void (async () => {
      try {
        for await (const e of events) {
          if (e.type === 'DELETED') this.#gone = true;
          else if (e.type !== 'BOOKMARK') this.#latest = e.object;
          this.#notify();
        }
      } catch (err) {
        this.#failure = err as Error;
      }
      this.#failure ??= this.#abort.signal.aborted ? undefined : new Error('the watch ended');
      this.#notify();
    })();
  }

  #notify(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  async until<T>(what: string, check: (p: Pod | undefined) => T | undefined, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = check(this.#gone ? undefined : this.#latest);
      if (v !== undefined) return v;
      if (this.#failure) {
        // A broken watch: fall back to reading the pod.
        this.#latest = await this.client.get<Pod>(PODS, this.name, { namespace: this.namespace }).catch((err: unknown) => {
          if (isNubisError(err, 'NotFound')) {
            this.#gone = true;
            return undefined;
          }
          throw err;
        });
        const again = check(this.#gone ? undefined : this.#latest);
        if (again !== undefined) return again;
        await new Promise((r) => setTimeout(r, 200));
      } else {
        const left = deadline - Date.now();
        if (left <= 0) throw invalid(`timed out waiting for pod ${this.name} to ${what}`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          this.#waiters.push(() => (clearTimeout(t), resolve()));
        });
      }
      if (Date.now() > deadline) throw invalid(`timed out waiting for pod ${this.name} to ${what}`);
    }
  }

  stop(): void {
    this.#abort.abort();
  }
}

const WAITING_FAILURES = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

function mainStatus(p: Pod): ContainerStatus | undefined {
  return p.status?.containerStatuses?.[0];
}

/** Started (running or already ended), or a failure that will not pass by itself. */
function startedOrFailed(p: Pod | undefined): 'started' | Error | undefined {
  if (!p) return new Error('the pod was deleted');
  if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') return 'started';
  const st = mainStatus(p)?.state;
  if (st?.running || st?.terminated) return 'started';
  const reason = st?.waiting?.reason;
  if (reason && WAITING_FAILURES.has(reason)) return new Error(`${reason}: ${st?.waiting?.message ?? ''}`.trim());
  return undefined;
}

export async function runRun(ctx: CliContext, image: string, command: string[], o: RunFlags): Promise<void> {
  const interactive = !!(o.stdin || o.tty);
  const attach = interactive || !!o.rm;
  const restartPolicy = o.restart ?? (attach ? 'Never' : 'Always');
  if (!['Always', 'OnFailure', 'Never'].includes(restartPolicy)) throw invalid(`--restart takes Always, OnFailure or Never, not "${restartPolicy}"`);
  if (o.rm && restartPolicy !== 'Never' && !interactive) throw invalid('--rm needs --restart=Never: the pod must be able to finish');
  const timeoutMs = o.timeout ? Number(o.timeout) * 1000 : 5 * 60_000;
  const name = o.name ?? podNameFor(image);
  const env = (o.env ?? []).map((e) => {
    const eq = e.indexOf('=');
    if (eq <= 0) throw invalid(`--env takes NAME=VALUE, not "${e}"`);
    return { name: e.slice(0, eq), value: e.slice(eq + 1) };
  });
  const container: Record<string, unknown> = { name, image, ...(env.length ? { env } : {}), ...(o.imagePullPolicy ? { imagePullPolicy: o.imagePullPolicy } : {}) };
  if (interactive) container.command = HOLDER;
  else if (command.length > 0) container.args = command;
  await withSession(ctx, o, async (s) => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: s.namespace, labels: labelsOf(o.labels, name) },
      spec: { containers: [container], restartPolicy, terminationGracePeriodSeconds: attach ? 1 : 30, ...(o.runtimeClass ? { runtimeClassName: o.runtimeClass } : {}) },
    } as unknown as Pod;
    trace('run: session');
    const created = await s.client.create<Pod>(PODS, pod);
    trace('run: created');
    if (!attach) {
      ctx.stdout.write(`pod/${name} created\n`);
      return;
    }
    const watch = new PodWatch(s.client, s.namespace, name);
    try {
      await watch.start(created);
      trace('run: watching');
      const started = await watch.until('start', startedOrFailed, timeoutMs);
      trace('run: started');
      if (started instanceof Error) throw invalid(`pod ${name} cannot start: ${started.message}`);
      if (interactive) {
        await watch.until('run', (p) => (p && mainStatus(p)?.state?.running ? true : startedOrFailed(p) instanceof Error ? false : undefined), timeoutMs);
        ctx.exitCode = await execSession(ctx, s.client, s.namespace, name, command.length > 0 ? command : ['sh'], o);
      } else {
        const logs = await s.client.logStream(s.namespace, name, { follow: true });
        for await (const chunk of logs) ctx.stdout.write(chunk as Buffer);
        trace('run: log ended');
        const code = await watch.until(
          'finish',
          (p) => {
            if (!p) return 1;
            const t = mainStatus(p)?.state?.terminated;
            return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' ? (t?.exitCode ?? (p.status.phase === 'Succeeded' ? 0 : 1)) : undefined;
          },
          timeoutMs,
        );
        ctx.exitCode = code;
        trace('run: finished');
      }
      if (o.rm) {
        await s.client.delete(PODS, name, { namespace: s.namespace, gracePeriodSeconds: 0 }).catch((err: unknown) => {
          if (!isNubisError(err, 'NotFound')) throw err;
        });
        trace('run: delete sent');
        await watch.until('be removed', (p) => (p ? undefined : true), 60_000);
        trace('run: removed');
      }
    } catch (err) {
      if (o.rm) await s.client.delete(PODS, name, { namespace: s.namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
      throw err;
    } finally {
      watch.stop();
    }
  });
}
