/**
 * What the elected control loops authenticate with: client certificates of the cluster CA naming the
 * scheduler (`system:kube-scheduler`), the controller manager (`system:kube-controller-manager`) and
 * each controller's kube-system service account (apiserver/authz/control-plane-policy.ts says what each
 * may do). The server process makes them itself at every start, in memory only, from
 * `<data-dir>/apiserver/pki/ca.{crt,key}`: nothing is written, printed or copied; every server of a
 * cluster holds the CA and makes its own; a restart makes new ones. One key serves them all (one
 * process holds them); they last a year and are made again at 80% of it. The clients reach the API
 * server in-process (ApiServer.connectLocal) when they can, so a flood of connections on the port does
 * not keep theirs waiting.
 */
import { generateKeyPair, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import path from 'node:path';
import { CONTROLLER_MANAGER_USER, kubeSystemAccount, SCHEDULER_USER } from '../apiserver/authz/control-plane-policy.js';
import { pkiDir } from '../apiserver/pki.js';
import { keepRenewed } from '../client/certificates.js';
import { RestClient } from '../client/rest-client.js';
import { logger } from '../lib/log.js';
import { makeCertificate } from '../lib/x509.js';

const log = logger('control-plane');
const VALID_DAYS = 365;

/** The clients of the control loops, each acting as its own identity. */
export interface ControlPlaneClients {
  /** The scheduler's: informers, bindings, PodScheduled conditions, events. */
  scheduler: RestClient;
  /** The controller manager's: the controllers' shared informers and the control-plane Lease. */
  controllerManager: RestClient;
  /** A controller's own, by its kube-system service account (made on first use). */
  controller(account: string): RestClient;
  /** Closes every client. */
  close(): void;
}

interface Identity {
  name: string;
  groups: string[];
}

function newKey(): Promise<KeyObject> {
  return new Promise((resolve, reject) => generateKeyPair('rsa', { modulusLength: 2048 }, (err, _pub, key) => (err ? reject(err) : resolve(key))));
}

/** The API server the loops talk to: its URL, and its in-process connections when it runs in this process. */
export interface ControlPlaneServer {
  url: string;
  connectLocal?(): Duplex;
}

/** Makes the control loops' clients of `api`; certificates are renewed while `signal` lasts. */
export async function controlPlaneClients(dataDir: string, api: ControlPlaneServer, signal: AbortSignal): Promise<ControlPlaneClients> {
  const dir = pkiDir(dataDir);
  const ca = { cert: await readFile(path.join(dir, 'ca.crt'), 'utf8'), key: await readFile(path.join(dir, 'ca.key'), 'utf8') };
  const key = await newKey();
  const keyPem = key.export({ type: 'pkcs8', format: 'pem' }) as string;
  const certificate = (who: Identity) => makeCertificate({ commonName: who.name, organizations: who.groups, key, issuer: ca, validDays: VALID_DAYS, ca: false, usage: 'client' });
  const clients = new Map<string, { who: Identity; client: RestClient }>();
  const clientOf = (who: Identity, userAgent: string): RestClient => {
    let c = clients.get(who.name);
    if (!c) clients.set(who.name, (c = { who, client: new RestClient({ server: api.url, ca: ca.cert, cert: certificate(who), key: keyPem, dial: api.connectLocal && (() => api.connectLocal!()) }, { userAgent }) }));
    return c.client;
  };
  const scheduler = clientOf({ name: SCHEDULER_USER, groups: [] }, 'nubis-scheduler');
  const controllerManager = clientOf({ name: CONTROLLER_MANAGER_USER, groups: [] }, 'nubis-controller-manager');
  keepRenewed(
    () => String(scheduler.connection.cert),
    async () => {
      for (const { who, client } of clients.values()) client.useClientCertificate(certificate(who), keyPem);
      log.info('control-plane certificates renewed');
    },
    signal,
    (msg) => log.warn(msg),
  );
  return {
    scheduler,
    controllerManager,
    controller: (account) => clientOf(kubeSystemAccount(account), `nubis-controller-manager/${account}`),
    close: () => {
      for (const { client } of clients.values()) client.close();
    },
  };
}
