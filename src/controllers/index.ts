/**
 * The controller manager: every controller listed explicitly, sharing one set of informers, each
 * writing (and recording events) as its own account, run until the signal aborts. Run it under a LeaderElector (leader-election.ts) when
 * several servers share a store, so only one set of controllers acts at a time.
 */
import { setMaxListeners } from 'node:events';
import type { RestClient } from '../client/rest-client.js';
import { logger } from '../lib/log.js';
import type { Controller, ControllerDeps } from './controller.js';
import { DaemonSetController, type DaemonSetControllerOptions } from './daemonset/daemon-set-controller.js';
import { DeploymentController, type DeploymentControllerOptions } from './deployment/deployment-controller.js';
import { EndpointSliceController } from './endpoint-slice/endpoint-slice-controller.js';
import { EndpointsController } from './endpoints/endpoints-controller.js';
import { EventRecorder, type Recorder } from '../client/event-recorder.js';
import { InformerSet } from './informer-set.js';
import { JobController, type JobControllerOptions } from './job/job-controller.js';
import { NodeIpamController, type NodeIpamOptions } from './node-ipam/node-ipam-controller.js';
import { NodeLifecycleController, type NodeLifecycleOptions } from './node-lifecycle/node-lifecycle-controller.js';
import { ReplicaSetController, type ReplicaSetControllerOptions } from './replicaset/replica-set-controller.js';
import { ResourceQuotaController, type ResourceQuotaControllerOptions } from './resource-quota/resource-quota-controller.js';
import { VirtualMachineController } from './virtualmachine/vm-controller.js';

const log = logger('controllers');

/** Every controller by name, in start order. */
export const CONTROLLER_NAMES = ['replicaset', 'deployment', 'daemonset', 'job', 'endpoints', 'endpointslice', 'nodelifecycle', 'nodeipam', 'resourcequota', 'virtualmachine'] as const;
export type ControllerName = (typeof CONTROLLER_NAMES)[number];

/**
 * The kube-system service account each controller acts as (Kubernetes' names, bound to the bootstrap
 * ClusterRole system:controller:<account>); its events name it as their source.
 */
export const CONTROLLER_ACCOUNTS: Record<ControllerName, string> = {
  replicaset: 'replicaset-controller',
  deployment: 'deployment-controller',
  daemonset: 'daemon-set-controller',
  job: 'job-controller',
  endpoints: 'endpoint-controller',
  endpointslice: 'endpointslice-controller',
  nodelifecycle: 'node-controller',
  nodeipam: 'node-controller',
  resourcequota: 'resourcequota-controller',
  virtualmachine: 'virtualmachine-controller',
};

export interface ControllersOptions {
  /** Which controllers to run (default: all). */
  enabled?: readonly ControllerName[];
  replicaSet?: ReplicaSetControllerOptions;
  deployment?: DeploymentControllerOptions;
  daemonSet?: DaemonSetControllerOptions;
  job?: JobControllerOptions;
  nodeLifecycle?: NodeLifecycleOptions;
  nodeIpam?: NodeIpamOptions;
  resourceQuota?: ResourceQuotaControllerOptions;
  /** Events go here instead of the API (tests). */
  recorder?: Recorder;
  /** The client of a controller's own identity, by account (CONTROLLER_ACCOUNTS); default: the informers' client. */
  clientFor?: (account: string) => RestClient;
}

export interface RunningControllers {
  controllers: Controller[];
  informers: InformerSet;
  /** Resolves once every controller and informer stopped (after the signal aborted). */
  done: Promise<void>;
}

function build(name: ControllerName, deps: ControllerDeps, opts: ControllersOptions): Controller {
  switch (name) {
    case 'replicaset':
      return new ReplicaSetController(deps, opts.replicaSet);
    case 'deployment':
      return new DeploymentController(deps, opts.deployment);
    case 'daemonset':
      return new DaemonSetController(deps, opts.daemonSet);
    case 'job':
      return new JobController(deps, opts.job);
    case 'endpoints':
      return new EndpointsController(deps);
    case 'endpointslice':
      return new EndpointSliceController(deps);
    case 'nodelifecycle':
      return new NodeLifecycleController(deps, opts.nodeLifecycle);
    case 'nodeipam':
      return new NodeIpamController(deps, opts.nodeIpam);
    case 'resourcequota':
      return new ResourceQuotaController(deps, opts.resourceQuota);
    case 'virtualmachine':
      return new VirtualMachineController(deps);
  }
}

/**
 * Builds the enabled controllers on shared informers (which read with `client`) and runs them all until
 * `signal` aborts; each controller writes with the client of its own account.
 */
export function startControllers(client: RestClient, opts: ControllersOptions, signal: AbortSignal): RunningControllers {
  setMaxListeners(0, signal); // every informer, worker and timer listens to it
  const informers = new InformerSet(client);
  const recorders = new Map<string, Recorder>();
  const depsOf = (name: ControllerName): ControllerDeps => {
    const account = CONTROLLER_ACCOUNTS[name];
    const own = opts.clientFor?.(account) ?? client;
    let recorder = opts.recorder ?? recorders.get(account);
    if (!recorder) recorders.set(account, (recorder = new EventRecorder(own, account)));
    return { client: own, informers, recorder };
  };
  const enabled = opts.enabled ?? CONTROLLER_NAMES;
  const controllers = CONTROLLER_NAMES.filter((n) => enabled.includes(n)).map((n) => build(n, depsOf(n), opts));
  const runs = [
    informers.run(signal),
    ...controllers.map((c) =>
      c.run(signal).catch((err: unknown) => {
        if (!signal.aborted) log.error(`${c.name} controller stopped: ${(err as Error).message}`);
      }),
    ),
  ];
  log.info(`started controllers: ${controllers.map((c) => c.name).join(', ')}`);
  return { controllers, informers, done: Promise.all(runs).then(() => undefined) };
}
