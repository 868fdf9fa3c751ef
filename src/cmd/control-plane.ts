/**
 * The control loops of a server: scheduler and controllers, run only while this process leads (leader
 * election through a Lease in the store), so that several servers on one etcd never act twice. The two
 * are joined here because controllers/ may not import scheduler/.
 */
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type { RestClient } from '../client/rest-client.js';
import { startControllers } from '../controllers/index.js';
import { LeaderElector } from '../controllers/leader-election.js';
import { logger } from '../lib/log.js';
import { startScheduler } from '../scheduler/client-adapter.js';
import type { ClusterNetwork, ControlPlaneTiming } from './process-flags.js';

const log = logger('control-plane');

/** The Lease (kube-system) whose holder runs the scheduler and controllers. */
export const CONTROL_PLANE_LEASE = 'nubis-control-plane';

export interface ControlPlane {
  elector: LeaderElector;
  identity: string;
  /** Resolves once the campaign ended and the loops stopped (after the signal aborted). */
  done: Promise<void>;
}

/** Campaigns for the control-plane Lease until `signal` aborts; while leading, runs scheduler and controllers. */
export function runControlPlane(
  client: RestClient,
  timing: ControlPlaneTiming,
  signal: AbortSignal,
  network?: ClusterNetwork,
  identity = `${os.hostname()}_${randomBytes(4).toString('hex')}`,
): ControlPlane {
  const elector = new LeaderElector(client, {
    name: CONTROL_PLANE_LEASE,
    identity,
    leaseDurationSeconds: timing.leaseDurationMs / 1000,
    renewDeadlineSeconds: timing.renewDeadlineMs / 1000,
    retryPeriodSeconds: timing.retryPeriodMs / 1000,
  });
  const done = elector.run(signal, async (leading) => {
    log.info(`${identity} leads: starting the scheduler and controllers`);
    const controllers = startControllers(
      client,
      {
        nodeLifecycle: {
          nodeMonitorGracePeriodMs: timing.nodeMonitorGracePeriodMs,
          nodeMonitorPeriodMs: timing.nodeMonitorPeriodMs,
          podEvictionTimeoutSeconds: timing.podEvictionTimeoutMs / 1000,
        },
        nodeIpam: { clusterCidr: network?.clusterCidr },
      },
      leading,
    );
    const scheduler = startScheduler(client, leading);
    await Promise.all([controllers.done, scheduler.done]);
  });
  return { elector, identity, done };
}
