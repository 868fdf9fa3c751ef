/**
 * Container probes as the kubelet runs them: liveness, readiness and startup, each on its own timer
 * (initialDelaySeconds, then every periodSeconds), with success and failure thresholds; liveness and
 * readiness wait until the startup probe has succeeded.
 *
 * How a probe reaches the pod: exec runs the command in the container through the driver. HTTP GET and
 * TCP connect to the pod's address (the probe's host, else the pod IP, else 127.0.0.1); the pod may have
 * only loopback, so they run inside the pod's network namespace: `nsenter --net=<pinned netns file>
 * bash` opens /dev/tcp/<host>/<port> (HTTP: writes the request and reads the status line; 200-399 is
 * success). nsenter (util-linux) and bash are on every Debian host; nothing is added to the pod.
 */
import type { Container, Probe, ProbeHandler } from '../api/core/v1/pod-types.js';
import type { Host } from '../host/host.js';
import type { RuntimeDriver } from '../runtime/driver.js';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

/** Thresholds: the result flips after `successThreshold` successes or `failureThreshold` failures in a row. */
export class ProbeState {
  #successes = 0;
  #failures = 0;
  result: boolean;

  constructor(
    private readonly probe: Pick<Probe, 'successThreshold' | 'failureThreshold'>,
    initial: boolean,
  ) {
    this.result = initial;
  }

  /** Records one outcome; true when the result changed. */
  record(ok: boolean): boolean {
    if (ok) {
      this.#failures = 0;
      this.#successes++;
      if (!this.result && this.#successes >= (this.probe.successThreshold ?? 1)) {
        this.result = true;
        return true;
      }
    } else {
      this.#successes = 0;
      this.#failures++;
      if (this.result && this.#failures >= (this.probe.failureThreshold ?? 3)) {
        this.result = false;
        return true;
      }
    }
    return false;
  }
}

/** Where a probe goes: the container (exec) and the pod's network namespace (HTTP, TCP). */
export interface ProbeTarget {
  /** The driver the container runs on. */
  driver: RuntimeDriver;
  containerId: string;
  /** The pod's network namespace (its sandbox's pinned file), while the sandbox exists. */
  netns?: string;
  /**
   * Probe the pod at its address from the node, as the kubelet does, instead of from inside its network
   * namespace: for pods with a kernel of their own, whose address is in the guest, not in the namespace.
   */
  fromNode?: boolean;
  podIP?: string;
  container: Container;
}

/** Runs one probe attempt; resolves with success or failure (never rejects). */
export type ProbeRunner = (handler: ProbeHandler, timeoutSeconds: number, target: ProbeTarget) => Promise<{ ok: boolean; message?: string }>;

/** A container port by number or by name. */
export function resolvePort(port: number | string, container: Container): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** The HTTP request line and headers a probe sends. */
export function httpProbeRequest(h: NonNullable<ProbeHandler['httpGet']>, host: string, port: number): string {
  const headers = new Map<string, string>([
    ['host', `${host}:${port}`],
    ['user-agent', 'kube-probe/1.32'],
    ['accept', '*/*'],
  ]);
  const names = new Map<string, string>([['host', 'Host'], ['user-agent', 'User-Agent'], ['accept', 'Accept']]);
  for (const x of h.httpHeaders ?? []) {
    headers.set(x.name.toLowerCase(), x.value);
    names.set(x.name.toLowerCase(), x.name);
  }
  let path = h.path || '/';
  if (!path.startsWith('/')) path = `/${path}`;
  const lines = [`GET ${path} HTTP/1.1`, ...[...headers].map(([k, v]) => `${names.get(k)}: ${v}`), 'Connection: close', '', ''];
  return lines.join('\r\n');
}

const TCP_SCRIPT = 'exec 3<>"/dev/tcp/$1/$2"';
const HTTP_SCRIPT = 'exec 3<>"/dev/tcp/$1/$2" || exit 2; printf "%s" "$NUBIS_PROBE_REQUEST" >&3; IFS= read -r line <&3; printf "%s\\n" "$line"';

/** The real probe runner: exec through the driver, HTTP and TCP from inside the pod's network namespace. */
export function probeRunner(host: Host): ProbeRunner {
  return async (handler, timeoutSeconds, target) => {
    const timeoutMs = Math.max(1, timeoutSeconds) * 1000;
    try {
      if (handler.exec) {
        let kill: (() => void) | undefined;
        const timer = setTimeout(() => kill?.(), timeoutMs);
        try {
          const code = await target.driver.exec(target.containerId, {
            command: handler.exec.command ?? [],
            stdio: ['ignore', 'ignore', 'ignore'],
            onStart: (p) => (kill = () => p.kill('SIGKILL')),
          });
          return code === 0 ? { ok: true } : { ok: false, message: `command exited with ${code}` };
        } finally {
          clearTimeout(timer);
        }
      }
      const net = handler.httpGet ?? handler.tcpSocket;
      if (net) {
        const port = resolvePort(net.port, target.container);
        if (port === undefined) return { ok: false, message: `port "${net.port}" is not a container port` };
        if (!target.netns) return { ok: false, message: 'the pod sandbox does not exist' };
        if (target.fromNode && !net.host && !target.podIP) return { ok: false, message: 'a pod with its own kernel is probed at its pod IP, and it has none' };
        const addr = net.host || target.podIP || '127.0.0.1';
        const script = handler.httpGet ? HTTP_SCRIPT : TCP_SCRIPT;
        const where = target.fromNode ? [] : ['nsenter', `--net=${target.netns}`];
        const [cmd, ...args] = [...where, 'bash', '-c', script, 'probe', addr, String(port)];
        const r = await host.run(cmd!, args, {
          allowFailure: true,
          timeoutMs,
          env: { PATH: process.env.PATH, NUBIS_PROBE_REQUEST: handler.httpGet ? httpProbeRequest(handler.httpGet, addr, port) : '' },
        });
        if (r.code !== 0) return { ok: false, message: `cannot connect to ${addr}:${port}` };
        if (!handler.httpGet) return { ok: true };
        const status = Number(/^HTTP\/\d(?:\.\d)? (\d{3})/.exec(r.stdout)?.[1] ?? 0);
        return status >= 200 && status < 400 ? { ok: true } : { ok: false, message: `HTTP probe failed with statuscode: ${status || 'none'}` };
      }
      if (handler.sleep) {
        await new Promise((r) => setTimeout(r, handler.sleep!.seconds * 1000));
        return { ok: true };
      }
      return { ok: false, message: 'unsupported probe handler (exec, httpGet, tcpSocket and sleep are supported)' };
    } catch (err) {
      return { ok: false, message: (err as Error).message };
    }
  };
}

/**
 * One probe of one container on its timer. `gate` says whether it may run now (liveness and readiness
 * wait for startup); `onChange` hears each flip of the result.
 */
export class ProbeWorker {
  readonly state: ProbeState;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  lastMessage: string | undefined;

  constructor(
    readonly kind: ProbeKind,
    private readonly probe: Probe,
    private readonly run: () => Promise<{ ok: boolean; message?: string }>,
    private readonly onChange: (worker: ProbeWorker) => void,
    private readonly gate: () => boolean,
    initial: boolean,
    /** Scales probe seconds to milliseconds (1000; tests may shorten). */
    private readonly msPerSecond = 1000,
  ) {
    this.state = new ProbeState(probe, initial);
  }

  get result(): boolean {
    return this.state.result;
  }

  start(): void {
    this.#schedule((this.probe.initialDelaySeconds ?? 0) * this.msPerSecond);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#tick(), ms);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    if (this.gate()) {
      const r = await this.run();
      if (this.#stopped) return;
      this.lastMessage = r.message;
      if (this.state.record(r.ok)) this.onChange(this);
      // A startup probe is done once it succeeded.
      if (this.kind === 'startup' && this.state.result) return;
    }
    this.#schedule(Math.max(1, this.probe.periodSeconds ?? 10) * this.msPerSecond);
  }
}
