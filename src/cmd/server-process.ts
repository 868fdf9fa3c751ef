/**
 * A server as `nubis server` and `nubis up` run it: the store, the API server, the join token and the
 * cluster-info ConfigMap, and the elected control loops (scheduler and controllers), with an admin
 * client over HTTPS loopback. `close` stops them in reverse order.
 */
import { readFile } from 'node:fs/promises';
import { ApiServer } from '../apiserver/api-server.js';
import { connect } from '../client/connect.js';
import type { RestClient } from '../client/rest-client.js';
import type { ObjectStore } from '../store/object-store.js';
import { openObjectStore, type StoreConfig } from '../store/open-store.js';
import { runControlPlane, type ControlPlane } from './control-plane.js';
import { controlPlaneClients } from './control-plane-credentials.js';
import { caCertHash, ensureJoinToken, publishClusterInfo, serverCaFile } from './join.js';
import type { ClusterNetwork, ControlPlaneTiming } from './process-flags.js';

export interface ServerProcessOptions {
  dataDir: string;
  store: StoreConfig;
  listen: string;
  port: number;
  advertiseAddress?: string;
  timing: ControlPlaneTiming;
  /** Run the scheduler and controllers when elected (default true). */
  controlPlane?: boolean;
  /** The address plan (default k3s's: pods 10.42.0.0/16, Services 10.43.0.0/16). */
  network?: ClusterNetwork;
}

export interface ServerProcess {
  api: ApiServer;
  store: ObjectStore;
  /** The admin client (HTTPS loopback) that published cluster-info; the control loops have their own. */
  client: RestClient;
  controlPlane?: ControlPlane;
  joinToken: string;
  caHash: string;
  /** The URL agents on other machines use. */
  joinUrl: string;
  /** Stops the control loops (releasing leadership), the API server and the store. */
  close(): Promise<void>;
}

/** Starts everything a server runs; the control loops stop when `signal` aborts or on close(). */
export async function startServerProcess(o: ServerProcessOptions, signal: AbortSignal): Promise<ServerProcess> {
  // Before the API server starts: it reads the token file once at start, then every 2 s.
  const joinToken = await ensureJoinToken(o.dataDir);
  const store = await openObjectStore(o.store);
  let api: ApiServer | undefined;
  let client: RestClient | undefined;
  try {
    api = await ApiServer.start({ dataDir: o.dataDir, store, listen: o.listen, port: o.port, advertiseAddress: o.advertiseAddress, serviceCidr: o.network?.serviceCidr, nodePortRange: o.network?.nodePortRange });
    client = (await connect({ flag: api.kubeconfig }, undefined, { userAgent: 'nubis-server' })).client;
    const ca = await readFile(serverCaFile(o.dataDir), 'utf8');
    await publishClusterInfo(client, ca, api.url);
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const loops = o.controlPlane === false ? undefined : await controlPlaneClients(o.dataDir, api, stop.signal);
    const controlPlane = loops && runControlPlane(loops, o.timing, stop.signal, o.network);
    const host = o.advertiseAddress ?? (o.listen === '0.0.0.0' || o.listen === '::' ? '127.0.0.1' : o.listen);
    const joinUrl = `https://${host.includes(':') ? `[${host}]` : host}:${api.port}`;
    const [a, c] = [api, client];
    let closed: Promise<void> | undefined;
    return {
      api: a,
      store,
      client: c,
      controlPlane,
      joinToken,
      caHash: caCertHash(ca),
      joinUrl,
      close: () =>
        (closed ??= (async () => {
          signal.removeEventListener('abort', onAbort);
          stop.abort();
          await controlPlane?.done.catch(() => undefined);
          loops?.close();
          c.close();
          await a.close().catch(() => undefined);
          await store.close().catch(() => undefined);
        })()),
    };
  } catch (err) {
    client?.close();
    await api?.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw err;
  }
}
