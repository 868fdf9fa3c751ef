/**
 * The control loops of a server: scheduler and controllers, run only while this process leads (leader
 * election through a Lease in the store), so that several servers on one etcd never act twice. The two
 * are joined here because controllers/ may not import scheduler/. Each acts as its own identity
 * (control-plane-credentials.ts): the Lease and the shared informers as the controller manager.
 */
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { startControllers } from '../controllers/index.js';
import { LeaderElector } from '../controllers/leader-election.js';
import { logger } from '../lib/log.js';
import { startScheduler } from '../scheduler/client-adapter.js';
import { CONTROL_PLANE_LEASE } from '../apiserver/authz/control-plane-policy.js';
import type { ControlPlaneClients } from './control-plane-credentials.js';
import type { ClusterNetwork, ControlPlaneTiming } from './process-flags.js';

const log = logger('control-plane');

export { CONTROL_PLANE_LEASE };

export interface ControlPlane {
  elector: LeaderElector;
  identity: string;
  /** Resolves once the campaign ended and the loops stopped (after the signal aborted). */
  done: Promise<void>;
}

/** Campaigns for the control-plane Lease until `signal` aborts; while leading, runs scheduler and controllers. */
export function runControlPlane(
  clients: ControlPlaneClients,
  timing: ControlPlaneTiming,
  signal: AbortSignal,
  network?: ClusterNetwork,
  identity = `${os.hostname()}_${randomBytes(4).toString('hex')}`,
): ControlPlane {
  const elector = new LeaderElector(clients.controllerManager, {
    name: CONTROL_PLANE_LEASE,
    identity,
    leaseDurationSeconds: timing.leaseDurationMs / 1000,
    renewDeadlineSeconds: timing.renewDeadlineMs / 1000,
    retryPeriodSeconds: timing.retryPeriodMs / 1000,
  });
  const done = elector.run(signal, async (leading) => {
    log.info(`${identity} leads: starting the scheduler and controllers`);
    const controllers = startControllers(
      clients.controllerManager,
      {
        nodeLifecycle: {
          nodeMonitorGracePeriodMs: timing.nodeMonitorGracePeriodMs,
          nodeMonitorPeriodMs: timing.nodeMonitorPeriodMs,
          podEvictionTimeoutSeconds: timing.podEvictionTimeoutMs / 1000,
        },
        nodeIpam: { clusterCidr: network?.clusterCidr },
        clientFor: clients.controller,
      },
      leading,
    );
    const scheduler = startScheduler(clients.scheduler, leading);
    await Promise.all([controllers.done, scheduler.done]);
  });
  return { elector, identity, done };
}
