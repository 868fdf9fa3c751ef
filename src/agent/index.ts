/**
 * The node agent: registers this machine as a Node, renews its lease, runs the pods bound to it through
 * the runtime driver (one PodWorker per pod), reports their status, and serves logs, exec and stats to
 * the API server. Stopping the agent (the signal) leaves every pod running: a new agent on the same data
 * dir adopts them without restarting them.
 *
 * Layout under the data dir: <data>/agent/pods/<uid>/volumes/ (volumes), <data>/agent/seccomp/
 * (Localhost seccomp profiles, as the kubelet's /var/lib/kubelet/seccomp), <data>/agent/userns/ (the
 * host id ranges pods with hostUsers: false hold), plus what the runtime and image store keep
 * (<data>/containers, <data>/images, <data>/snapshots).
 */
import path from 'node:path';
import type { ConfigMap } from '../api/core/v1/config-map.js';
import type { Secret } from '../api/core/v1/secret.js';
import type { Service } from '../api/core/v1/service.js';
import type { TokenRequest } from '../api/core/v1/service-account.js';
import { EventRecorder } from '../client/event-recorder.js';
import type { RestClient } from '../client/rest-client.js';
import type { Host } from '../host/host.js';
import { Images } from '../image/images.js';
import { OverlaySnapshotStore } from '../image/snapshots.js';
import { isNubisError } from '../lib/errors.js';
import { logger } from '../lib/log.js';
import { RuntimeRegistry, usableDrivers } from '../runtime/registry.js';
import { AgentServer } from './agent-server.js';
import { clusterCa, renewServingCertificate, servingCertificate } from './serving-certificate.js';
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import type { ObjectSource } from './env.js';
import { ImagePuller } from './image-puller.js';
import { LoopbackOnly, type NetworkPlugin } from './network-plugin.js';
import { NodeNetwork } from './node-network.js';
import { NodeReporter } from './node-status.js';
import { PodManager } from './pod-manager.js';
import { probeRunner } from './probes.js';
import { RuntimeHandlers } from './runtime-handlers.js';
import { CONFIG_MAPS, NODES, SECRETS, SERVICE_ACCOUNTS, SERVICES } from './resources.js';
import { StatsCollector } from './stats.js';
import { PodVolumes } from './volumes.js';

export type { NetworkPlugin, PodNetns } from './network-plugin.js';

const log = logger('agent');

/** Intervals and back-offs; the defaults are the kubelet's, tests shorten them. */
export interface AgentTiming {
  /** Container restart back-off (10 s doubling to 5 min, reset after 10 min of running). */
  backoff?: BackoffOptions;
  /** Back-off of image pulls and failed container starts. */
  pullBackoff?: BackoffOptions;
  /** How often running containers are checked for an exit (default 1 s). */
  exitPollMs?: number;
  /** How often node status is computed, and posted when changed (default 10 s). */
  statusIntervalMs?: number;
  /** Node status is posted at least this often (default 60 s). */
  heartbeatMs?: number;
  /** Lease renewal (default 5 s) and the lease duration (default 40 s). */
  leaseIntervalMs?: number;
  leaseDurationSeconds?: number;
  /** Milliseconds per probe second (default 1000). */
  probeMsPerSecond?: number;
  /** How often configMap and secret volumes are refreshed (default 60 s). */
  volumeRefreshMs?: number;
}

export interface AgentOptions {
  client: RestClient;
  nodeName: string;
  dataDir: string;
  host: Host;
  /** The node's address (Node InternalIP, what the API server dials); default 127.0.0.1. */
  address?: string;
  /** Where the agent endpoint listens; default the address. */
  listen?: string;
  /** The endpoint's port (default 10250; 0 picks a free one). */
  port?: number;
  /** The runtime drivers; default: the OCI driver (conmon + runc) on the data dir. */
  runtimes?: RuntimeRegistry;
  images?: Images;
  /** OCI runtime for the default driver: runc (default) or crun. */
  runtime?: string;
  /**
   * Pod networking: a plugin, 'bridge' (cluster networking: pod range from the Node, services, DNS,
   * routes; see node-network.ts) or, by default, loopback only.
   */
  network?: NetworkPlugin | 'bridge';
  /** With 'bridge': masquerade pod traffic leaving the cluster (off by default). */
  masqueradeOutside?: { clusterCidr: string; serviceCidr: string };
  insecureRegistries?: string[];
  /** Extra Node labels. */
  labels?: Record<string, string>;
  timing?: AgentTiming;
  /** Stops the agent (pods keep running). */
  signal: AbortSignal;
}

/** A started agent. */
export interface Agent {
  nodeName: string;
  /** The endpoint's port (as recorded in Node.status.daemonEndpoints). */
  port: number;
  pods: PodManager;
  /** Resolves once the agent has stopped after the signal. */
  done: Promise<void>;
}

function apiObjects(client: RestClient): ObjectSource {
  const get = async <T>(r: typeof CONFIG_MAPS, namespace: string, name: string): Promise<T | undefined> => {
    try {
      return (await client.get(r, name, { namespace })) as T;
    } catch (err) {
      if (isNubisError(err, 'NotFound')) return undefined;
      throw err;
    }
  };
  return {
    configMap: (ns, name) => get<ConfigMap>(CONFIG_MAPS, ns, name),
    secret: (ns, name) => get<Secret>(SECRETS, ns, name),
    services: async (ns) => (await client.list<Service>(SERVICES, { namespace: ns })).items,
    serviceAccountToken: async (pod, req) => {
      const body = {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { ...(req.audience ? { audiences: [req.audience] } : {}), expirationSeconds: req.expirationSeconds, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid: pod.metadata.uid } },
      };
      const answer = await client.createSubresource<TokenRequest>(SERVICE_ACCOUNTS, pod.spec.serviceAccountName || 'default', 'token', body, { namespace: pod.metadata.namespace });
      if (!answer.status?.token) throw new Error('the TokenRequest was answered without a token');
      return answer.status;
    },
  };
}

/** Puts what the drivers found on this machine (e.g. KVM or TCG for micro-VMs) on the Node, in the background. */
function annotateNode(client: RestClient, nodeName: string, runtimes: RuntimeRegistry, signal: AbortSignal): void {
  for (const d of runtimes.drivers()) {
    d.nodeAnnotations?.(signal)
      .then((annotations) => client.patch(NODES, nodeName, { metadata: { annotations } }, 'merge'))
      .catch((err: unknown) => log.warn(`runtime driver ${d.name} on this node: ${(err as Error).message}`));
  }
}

/** Starts the agent: resolves once the Node is registered and the endpoint listens. */
export async function startAgent(opts: AgentOptions): Promise<Agent> {
  const t = opts.timing ?? {};
  const address = opts.address ?? '127.0.0.1';
  // The image store asks the drivers which images are in use; the drivers need the image store.
  let runtimes: RuntimeRegistry | undefined = opts.runtimes;
  const images =
    opts.images ??
    new Images(opts.dataDir, opts.host, {
      snapshots: new OverlaySnapshotStore(path.join(opts.dataDir, 'snapshots'), opts.host),
      inUse: () => runtimes!.imagesInUse(),
    });
  if (!runtimes) {
    const usable = usableDrivers();
    for (const [name, why] of Object.entries(usable.missing)) log.warn(`runtime driver ${name} is off on this node: ${why}`);
    runtimes = RuntimeRegistry.create({ dataDir: opts.dataDir, host: opts.host, images, runtime: opts.runtime }, usable.names);
  }
  const handlers = new RuntimeHandlers(opts.client);
  const objects = apiObjects(opts.client);
  const nodeNetwork =
    opts.network === 'bridge'
      ? new NodeNetwork({ client: opts.client, host: opts.host, nodeName: opts.nodeName, nodeAddress: address, ipamDir: path.join(opts.dataDir, 'agent', 'ipam'), masqueradeOutside: opts.masqueradeOutside, signal: opts.signal })
      : undefined;
  const network = nodeNetwork ?? (opts.network === 'bridge' ? undefined : opts.network) ?? LoopbackOnly;
  const volumes = new PodVolumes(path.join(opts.dataDir, 'agent', 'pods'), opts.host, objects);
  let reporter: NodeReporter | undefined;
  const pods = new PodManager(
    opts.client,
    opts.nodeName,
    {
      runtimes,
      handlerOf: (pod) => handlers.of(pod),
      client: opts.client,
      puller: new ImagePuller(images, { insecureRegistries: opts.insecureRegistries }),
      volumes,
      objects,
      network,
      seccompDir: path.join(opts.dataDir, 'agent', 'seccomp'),
      recorder: new EventRecorder(opts.client, 'nubis-agent'),
      resolvConf: nodeNetwork ? (namespace) => nodeNetwork.resolvConf(namespace) : undefined,
      probeRunner: probeRunner(opts.host),
      backoff: new Backoff(t.backoff ?? DEFAULT_BACKOFF),
      pullBackoff: new Backoff(t.pullBackoff ?? DEFAULT_BACKOFF),
      hostIP: address,
      allocatable: () => reporter!.allocatable(),
      probeMsPerSecond: t.probeMsPerSecond ?? 1000,
      volumeRefreshMs: t.volumeRefreshMs ?? 60_000,
    },
    t.exitPollMs ?? 1000,
  );
  const serving = await servingCertificate(opts.client, opts.dataDir, opts.nodeName);
  const tls = { ...serving, ca: clusterCa(opts.client) };
  const server = await AgentServer.start({ host: opts.listen ?? address, port: opts.port ?? 10250, pods, stats: new StatsCollector(opts.nodeName, pods), tls });
  renewServingCertificate(opts.client, opts.dataDir, opts.nodeName, serving, (c) => server.useCertificate(c.cert, c.key), opts.signal, (m) => log.info(m));
  try {
    reporter = new NodeReporter({
      client: opts.client,
      nodeName: opts.nodeName,
      hostIP: address,
      port: server.port,
      dataDir: opts.dataDir,
      images,
      statusIntervalMs: t.statusIntervalMs ?? 10_000,
      heartbeatMs: t.heartbeatMs ?? 60_000,
      leaseIntervalMs: t.leaseIntervalMs ?? 5_000,
      leaseDurationSeconds: t.leaseDurationSeconds ?? 40,
      labels: opts.labels,
      podCIDR: () => nodeNetwork?.podRangeInUse(),
      runtimeHandlers: () => runtimes!.handlers(),
    });
    await reporter.register();
    await reporter.renewLease();
  } catch (err) {
    await server.close();
    throw err;
  }
  nodeNetwork?.start();
  annotateNode(opts.client, opts.nodeName, runtimes, opts.signal);
  log.info(`agent for node ${opts.nodeName} serving on ${opts.listen ?? address}:${server.port}`);
  const done = (async () => {
    try {
      await Promise.all([pods.run(opts.signal), reporter.run(opts.signal)]);
      await nodeNetwork?.done;
    } finally {
      await server.close();
    }
  })();
  return { nodeName: opts.nodeName, port: server.port, pods, done };
}
