/**
 * The Nubis API server: HTTPS with its own CA, bearer-token authentication, Kubernetes REST conventions
 * over an ObjectStore (SQLite or etcd), watch caches, garbage collection and namespace lifecycle.
 * Several servers may share one etcd: each watches the store, so watches agree across them.
 */
import { setMaxListeners } from 'node:events';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { builtinResources, type ResourceRegistry } from '../api/registry.js';
import { duplexPair } from '../lib/duplex-pair.js';
import { isNubisError } from '../lib/errors.js';
import { logger } from '../lib/log.js';
import type { ObjectStore } from '../store/object-store.js';
import { AGGREGATED_CONTENT_TYPE, aggregatedDiscovery, apiGroup, apiGroupList, apiVersions, resourceList, wantsAggregated } from './discovery.js';
import { GarbageCollector } from './garbage-collector.js';
import { sendJson, sendStatus } from './http-io.js';
import { ObjectOps, refOf, storeError } from './object-ops.js';
import { OpenApiDocuments } from './openapi.js';
import { ensureServerPki, servingNames } from './pki.js';
import { NodeProxy, matchNodeProxy } from './node-proxy.js';
import { PodProxy, rejectUpgrade } from './pod-proxy.js';
import { requestInfo, type ResourceRequest } from './request-info.js';
import { DEFAULT_WATCH_SETTINGS, type HandlerDeps, type WatchSettings } from './api-request.js';
import { handleResource } from './resource-handler.js';
import { ServiceAllocations } from './service-allocations.js';
import { ApiError, statusOf } from './status.js';
import { adminKubeconfigFile, ensureAdminAccess, tokensFile } from './tokens.js';
import { AdmissionChain } from './admission/admission.js';
import { NamespaceLifecycle } from './admission/namespace-lifecycle.js';
import { NodeRestriction } from './admission/node-restriction.js';
import { RbacEscalation } from './admission/rbac-escalation.js';
import { ServiceAccountAdmission } from './admission/service-account.js';
import { PodSecurityAdmission } from './admission/pod-security.js';
import { LimitRanger } from './admission/limit-ranger.js';
import { ResourceQuotaAdmission } from './admission/resource-quota.js';
import { RuntimeClassAdmission } from './admission/runtime-class.js';
import { KubeVirtAdmission } from './admission/kubevirt.js';
import { AuthenticatorChain, credentialsOf, type UserInfo } from './authn/authenticator.js';
import { ClientCertificateAuthenticator } from './authn/client-certificate.js';
import { TokenFileAuthenticator } from './authn/token-file.js';
import { AuthorizerChain, forbiddenMessage, type Attributes } from './authz/authorizer.js';
import { ensureBootstrapPolicy } from './authz/ensure-policy.js';
import { NodeAuthorizer } from './authz/node-authorizer.js';
import { RbacAuthorizer } from './authz/rbac-authorizer.js';
import { RoleAggregator } from './authz/role-aggregator.js';
import { SuperuserAuthorizer } from './authz/superuser.js';
import { InternalWriter, SYSTEM_USERS } from './internal-writer.js';
import { UserTokenAuthenticator } from './authn/user-token.js';
import { ServiceAccountTokenAuthenticator } from './authn/service-account-token.js';
import { ServiceAccountTokens } from './service-account-tokens.js';
import { ClusterObjects, podReachableAddress } from './cluster-objects.js';
import { NamespaceDefaults } from './namespace-defaults.js';
import { Credentials } from './tenancy/credentials.js';
import { TenancyAuthorizer } from './tenancy/tenancy-authorizer.js';
import { TenancyIndex } from './tenancy/tenancy-index.js';
import { TenantAdmission } from './tenancy/tenant-admission.js';
import { TenantNamespaces } from './tenancy/tenant-namespaces.js';
import type { KubeObject } from '../api/meta.js';
import { CsrSigner } from './csr-signer.js';
import { AuditLog, auditLogFile, type AuditLogOptions } from './audit-log.js';
import { InFlightLimits, type FairnessLimits } from './fairness.js';
import { StoreMirror } from './store-mirror.js';
import { CsrRequester } from './admission/csr-requester.js';
import { WatchCaches } from './watch-cache.js';

const log = logger('apiserver');

export interface ApiServerOptions {
  dataDir: string;
  store: ObjectStore;
  registry?: ResourceRegistry;
  /** Address to listen on (default 0.0.0.0). */
  listen?: string;
  /** Port (default 6443; 0 picks a free one). */
  port?: number;
  /** The address other machines reach this server at: added to the certificate and to /api. */
  advertiseAddress?: string;
  watch?: Partial<WatchSettings>;
  /** How often the garbage collector sweeps without a trigger. */
  gcIntervalMs?: number;
  /** Where ClusterIPs come from (default 10.43.0.0/16). */
  serviceCidr?: string;
  /** NodePorts (default 30000-32767). */
  nodePortRange?: [number, number];
  /** The audit log's rotation, or false for none (default: <data-dir>/apiserver/audit.log, 100 MiB x 5). */
  audit?: AuditLogOptions | false;
  /**
   * 'open' allows every authenticated request and runs only the admission every write needs for its
   * meaning (namespace lifecycle): what bench/authz.ts compares the full pipeline against. Never served
   * by the CLI.
   */
  pipeline?: 'full' | 'open';
  /** Requests in flight per user and per tenant (default 32 and 96). */
  fairness?: FairnessLimits;
}

export const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const HEALTH_PATHS = new Set(['/healthz', '/livez', '/readyz']);

export class ApiServer {
  private readonly registry: ResourceRegistry;
  private readonly caches: WatchCaches;
  private readonly ops: ObjectOps;
  private readonly gc: GarbageCollector;
  readonly services: ServiceAllocations;
  private repairTimer: NodeJS.Timeout | undefined;
  private repairInterval: NodeJS.Timeout | undefined;
  private readonly openapi: OpenApiDocuments;
  private readonly pods: PodProxy;
  private readonly tokenFile: TokenFileAuthenticator;
  private readonly authn: AuthenticatorChain;
  private readonly rbac: RbacAuthorizer;
  private readonly nodes: NodeAuthorizer;
  /** Every request's authorization: superuser, node, RBAC; default deny. */
  readonly authorizer: AuthorizerChain;
  private readonly system: InternalWriter;
  private readonly tenancy: TenancyIndex;
  private readonly credentials: Credentials;
  private readonly tenantNamespaces: TenantNamespaces;
  private readonly indexes = new AbortController();
  private aggregator: RoleAggregator | undefined;
  private auditLog: AuditLog | undefined;
  private readonly fairness: InFlightLimits;
  private signer: CsrSigner | undefined;
  private readonly deps: HandlerDeps;
  private readonly serviceAccountTokens = new ServiceAccountTokens();
  private server: https.Server | undefined;
  /** Every open TCP connection, whatever it became (TLS still shaking hands, HTTP, an upgraded stream). */
  private readonly sockets = new Set<Socket | Duplex>();
  private authReloader: NodeJS.Timeout | undefined;
  private serverAddress = '';
  private clusterObjects: ClusterObjects | undefined;
  private namespaceDefaults: NamespaceDefaults | undefined;
  private inClusterIp: string | undefined;

  private constructor(private readonly options: ApiServerOptions) {
    this.registry = options.registry ?? builtinResources();
    const watch = { ...DEFAULT_WATCH_SETTINGS, ...options.watch };
    this.caches = new WatchCaches(options.store, watch.cacheIdleStopMs);
    this.gc = new GarbageCollector(options.store, this.registry, options.gcIntervalMs ?? 30_000);
    this.services = new ServiceAllocations(options.store, { serviceCidr: options.serviceCidr, nodePortRange: options.nodePortRange });
    const deleted = () => {
      this.gc.trigger();
      this.repairTimer ??= setTimeout(() => void this.repairAllocations(), 500).unref();
    };
    this.tokenFile = new TokenFileAuthenticator(tokensFile(options.dataDir));
    this.tenancy = new TenancyIndex(options.store);
    this.authn = new AuthenticatorChain([
      this.tokenFile,
      new UserTokenAuthenticator(this.tenancy),
      new ServiceAccountTokenAuthenticator(this.serviceAccountTokens, options.store, this.tenancy),
      new ClientCertificateAuthenticator(),
    ]);
    this.rbac = new RbacAuthorizer(options.store);
    this.nodes = new NodeAuthorizer(options.store);
    const namespaced = (group: string, resource: string) => this.registry.byResource(group, resource)?.namespaced ?? false;
    const tenants = new TenancyAuthorizer(this.tenancy, this.rbac, namespaced, (kind, ns, name) => this.rbac.roleRules(kind, ns, name));
    const open = options.pipeline === 'open';
    this.authorizer = new AuthorizerChain(open ? [{ name: 'open', authorize: () => ({ decision: 'allow' }) }] : [new SuperuserAuthorizer(), this.nodes, tenants, this.rbac]);
    const quotas = new ResourceQuotaAdmission(options.store, this.registry);
    const admission = new AdmissionChain(open ? [new NamespaceLifecycle(options.store)] : [
      new CsrRequester(),
      new NamespaceLifecycle(options.store),
      new NodeRestriction(),
      new LimitRanger(options.store),
      new ServiceAccountAdmission(options.store),
      new TenantAdmission(this.tenancy, options.store),
      new RuntimeClassAdmission(options.store), // after TenantAdmission, which may name the pod's class
      new KubeVirtAdmission(options.store),
      new PodSecurityAdmission(this.tenancy, options.store),
      new RbacEscalation(this.authorizer, this.rbac, (user, ns) => tenants.rulesFor(user, ns)),
      quotas, // last: it charges the quota, so every other plugin has had its say
    ]);
    this.ops = new ObjectOps(options.store, this.registry, deleted, this.services, admission);
    const as = (user: UserInfo) => new InternalWriter(this.ops, this.authorizer, user);
    this.system = as(SYSTEM_USERS.apiserver);
    quotas.writer = this.system;
    this.gc.writer = as(SYSTEM_USERS.garbageCollector);
    this.credentials = new Credentials(options.store, this.tenancy, this.system);
    this.tenantNamespaces = new TenantNamespaces(this.tenancy, as(SYSTEM_USERS.tenantController));
    this.openapi = new OpenApiDocuments(this.registry);
    this.pods = new PodProxy(options.store);
    this.fairness = new InFlightLimits(options.fairness);
    this.deps = { ops: this.ops, caches: this.caches, watch, pods: this.pods, authorizer: this.authorizer, rbac: this.rbac, credentials: this.credentials, serviceAccountTokens: this.serviceAccountTokens };
  }

  /** Makes PKI and admin access if missing, creates the default namespaces and starts listening. */
  static async start(options: ApiServerOptions): Promise<ApiServer> {
    const s = new ApiServer(options);
    await s.listen();
    return s;
  }

  /** https://<host>:<port> as written into admin.kubeconfig. */
  get url(): string {
    return `https://${this.serverAddress}`;
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  get kubeconfig(): string {
    return adminKubeconfigFile(this.options.dataDir);
  }

  /**
   * A connection to this server that does not pass through the network (TLS and authentication as for
   * any client): the loops of this process use it, so that a flood of new connections on the port, which
   * waits in the kernel's accept queue before anyone can tell who sent it, does not hold theirs up.
   */
  connectLocal(): Duplex {
    const [client, server] = duplexPair();
    if (this.server) this.server.emit('connection', server);
    else client.destroy(new Error('the API server is stopped'));
    return client;
  }

  private async listen(): Promise<void> {
    const o = this.options;
    const pki = await ensureServerPki(o.dataDir, servingNames([...(o.advertiseAddress ? [o.advertiseAddress] : []), this.services.kubernetesServiceIp()]));
    this.pods.useAgentTls({ ca: pki.caCert, ...pki.agentClient });
    this.serviceAccountTokens.useKey(pki.serviceAccountKey);
    setMaxListeners(64, this.indexes.signal); // one per store mirror
    await Promise.all([this.rbac.start(this.indexes.signal), this.nodes.start(this.indexes.signal), this.tenancy.start(this.indexes.signal)]);
    await new ClusterObjects(this.options.store, this.registry, this.system).ensureNamespaces(DEFAULT_NAMESPACES);
    await ensureBootstrapPolicy(this.system);
    const csrs = new StoreMirror(o.store, { group: 'certificates.k8s.io', resource: 'certificatesigningrequests' });
    this.signer = new CsrSigner(csrs, new InternalWriter(this.ops, this.authorizer, SYSTEM_USERS.certificateController), { cert: pki.caCert, key: pki.caKey });
    await csrs.start(this.indexes.signal);
    void this.signer.sweep();
    await this.tenantNamespaces.syncAll();
    this.namespaceDefaults = new NamespaceDefaults(this.tenancy, new InternalWriter(this.ops, this.authorizer, SYSTEM_USERS.serviceAccountController), () => pki.caCert);
    await this.namespaceDefaults.syncAll();
    this.aggregator = new RoleAggregator(this.rbac.clusterRoles, new InternalWriter(this.ops, this.authorizer, SYSTEM_USERS.roleAggregator));
    await this.aggregator.run();
    // Client certificates are asked for, not required: kubectl with a token sends none. One the cluster CA
    // did not sign fails authentication (401), not the handshake, so the client hears why.
    const server = https.createServer({
      key: pki.key,
      cert: pki.cert,
      ca: pki.caCert,
      requestCert: true,
      rejectUnauthorized: false,
      requestTimeout: 0,
      headersTimeout: 60_000,
      keepAliveTimeout: 65_000,
      // A connection that does not finish its handshake soon is dropped (Node's default waits 2 minutes).
      handshakeTimeout: 10_000,
    });
    server.on('connection', (socket: Socket | Duplex) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    server.on('request', (req, res) => void this.serve(req, res));
    server.on('upgrade', (req, socket, head) => void this.upgrade(req, socket as Duplex, head));
    server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    server.on('tlsClientError', (_err, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? 6443, o.listen ?? '0.0.0.0', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const port = this.port;
    const local = o.listen && o.listen !== '0.0.0.0' && o.listen !== '::' ? o.listen : '127.0.0.1';
    this.serverAddress = `${local.includes(':') ? `[${local}]` : local}:${port}`;
    if (o.audit !== false) {
      this.auditLog = new AuditLog(auditLogFile(o.dataDir), o.audit);
      await this.auditLog.open();
    }
    await ensureAdminAccess(o.dataDir, this.url, pki.caCert);
    await this.tokenFile.reload();
    this.authReloader = setInterval(() => void this.tokenFile.reload().catch((err: Error) => log.warn(`token file: ${err.message}`)), 2000);
    this.authReloader.unref();
    await this.ensureClusterObjects();
    this.gc.start();
    this.repairInterval = setInterval(() => void this.repairAllocations(), 60_000).unref();
    log.info(`serving on ${this.url}`);
  }

  /**
   * The server's own objects: default namespaces, RuntimeClasses, kube-dns, and `default/kubernetes` with this server's
   * address for pods (none when it listens on loopback only).
   */
  private async ensureClusterObjects(): Promise<void> {
    const o = this.options;
    const objects = (this.clusterObjects = new ClusterObjects(o.store, this.registry, this.system));
    const warn = (what: string) => (e: Error) => log.warn(`cannot ${what}: ${e.message}`);
    await objects.ensureRuntimeClasses().catch(warn('create the default RuntimeClasses'));
    await objects.ensureDnsService(this.services.dnsServiceIp()).catch(warn('create the cluster DNS Service'));
    await objects.ensureKubernetesService(this.services.kubernetesServiceIp(), this.port).catch(warn('create default/kubernetes'));
    this.inClusterIp = podReachableAddress(o.listen, o.advertiseAddress);
    if (!this.inClusterIp) log.info('the API server is not reachable from pods (loopback only): default/kubernetes gets no endpoints from it');
    else await objects.publish(this.inClusterIp, this.port).catch(warn('publish default/kubernetes'));
  }

  /** The request's user; 401 for credentials that do not authenticate. */
  private async authenticate(req: IncomingMessage): Promise<UserInfo> {
    const r = await this.authn.authenticate(credentialsOf(req));
    if ('invalid' in r) throw new ApiError('Unauthorized', 'Unauthorized');
    return r.user;
  }

  /**
   * 403 in kube-apiserver's words unless the chain allows it; 404 where what was asked must look absent
   * (another tenant's). An allowed list or watch may come back with what of it the user may see.
   */
  private async authorize(a: Attributes): Promise<((o: KubeObject) => boolean) | undefined> {
    const d = await this.authorizer.authorize(a);
    if (d.decision === 'allow') return d.visible;
    if (d.hidden) {
      if (a.resource === 'namespaces' && !a.group && a.name) throw new ApiError('NotFound', `namespaces "${a.name}" not found`, { name: a.name, kind: 'namespaces' });
      if (!a.name || a.verb === 'create') throw new ApiError('NotFound', `namespaces "${a.namespace ?? ''}" not found`, { name: a.namespace, kind: 'namespaces' });
      const qualified = a.group ? `${a.resource}.${a.group}` : a.resource;
      throw new ApiError('NotFound', `${qualified} "${a.name}" not found`, { name: a.name, group: a.group, kind: a.resource });
    }
    const details = a.path === undefined ? { name: a.name, group: a.group, kind: a.resource } : undefined;
    throw new ApiError('Forbidden', forbiddenMessage(a, d.reason), details);
  }

  /** One audit line for a request, once its answer is done. */
  private audit(req: IncomingMessage, started: number, who: { user?: UserInfo; attrs?: Partial<Attributes> }, code: number): void {
    if (!this.auditLog) return;
    const a = who.attrs ?? {};
    this.auditLog.record({
      time: new Date(started).toISOString(),
      user: who.user?.name ?? '',
      groups: who.user?.groups,
      verb: a.verb ?? (req.method ?? '').toLowerCase(),
      group: a.group,
      resource: a.resource,
      subresource: a.subresource,
      namespace: a.namespace,
      name: a.name,
      path: splitUrl(req.url).pathname.slice(0, 1000),
      code,
      latencyMs: Date.now() - started,
      sourceIP: req.socket.remoteAddress,
      userAgent: req.headers['user-agent']?.slice(0, 200),
    });
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.on('error', () => res.destroy());
    res.on('error', () => {});
    const started = Date.now();
    const who: { user?: UserInfo; attrs?: Partial<Attributes> } = {};
    res.on('close', () => this.audit(req, started, who, res.statusCode));
    try {
      const url = splitUrl(req.url);
      const path = url.pathname;
      const user = (who.user = await this.authenticate(req));
      const verb = (req.method ?? 'GET').toLowerCase();
      // Watches and followed logs stay open by design: only requests that end count against fairness.
      const longRunning = path.includes('/watch/') || ['1', 'true'].includes(url.searchParams.get('watch') ?? '') || url.searchParams.get('follow') === 'true';
      if (!longRunning) {
        const release = this.fairness.tryAcquire(user, req.socket.remoteAddress);
        if (!release) {
          res.setHeader('Retry-After', '1');
          throw new ApiError('TooManyRequests', `too many requests in flight for user "${user.name}" (or its tenant); retry shortly`, { retryAfterSeconds: 1 });
        }
        res.on('close', release);
      }
      const proxied = matchNodeProxy(path);
      if (proxied) {
        await this.authorize({ user, verb: verb === 'head' ? 'get' : verb, group: '', resource: 'nodes', subresource: 'proxy', name: proxied.node });
        return await new NodeProxy(this.pods).serve(req, res, proxied, url.searchParams.size ? `?${url.searchParams}` : '');
      }
      const info = requestInfo(req.method ?? 'GET', path, url.searchParams);
      if (info.kind !== 'resource') {
        await this.authorize({ user, verb: verb === 'head' ? 'get' : verb, path });
        req.resume();
      }
      if (info.kind === 'nonresource') {
        if (HEALTH_PATHS.has(path) || /^\/(readyz|livez|healthz)\//.test(path)) {
          res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end('ok');
          return;
        }
        if (path === '/version' || path === '/version/') return sendJson(res, 200, VERSION);
        if (path === '/openapi/v2' || path.startsWith('/openapi/v3')) {
          const [type, body] = this.openapi.serve(path, req.headers.accept);
          res.writeHead(200, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
          res.end(body);
          return;
        }
        if (path === '/' || path === '') return sendJson(res, 200, { paths: ['/api', '/api/v1', '/apis', '/healthz', '/livez', '/openapi/v2', '/openapi/v3', '/readyz', '/version'] });
        throw new ApiError('NotFound', `the server could not find the requested resource (${path.slice(0, 200)})`);
      }
      if (info.kind === 'discovery') return this.discovery(req, res, info.legacy, info.group, info.version);
      who.attrs = { verb: info.verb, group: info.group, resource: info.resource, subresource: info.subresource, namespace: info.namespace, name: info.name };
      const visible = await this.authorize({ user, verb: info.verb, group: info.group, resource: info.resource, subresource: info.subresource, namespace: info.namespace, name: info.name });
      const type = this.resolve(info);
      await handleResource({ req, res, info, query: url.searchParams, user, type, visible }, this.deps);
    } catch (err) {
      // A client that went away mid-request is no server fault.
      if (!(err instanceof ApiError) && !isNubisError(err) && !req.destroyed) log.warn(`${req.method} ${req.url?.slice(0, 200)}: ${(err as Error).stack ?? String(err)}`);
      if (!req.complete) req.resume();
      sendStatus(res, statusOf(err));
    }
  }

  private resolve(info: ResourceRequest) {
    const type = this.registry.byResource(info.group, info.resource, info.version);
    if (!type) {
      throw new ApiError('NotFound', `the server could not find the requested resource (${info.group ? `${info.group}/` : ''}${info.version}, resource ${info.resource.slice(0, 100)})`);
    }
    return type;
  }

  private discovery(req: IncomingMessage, res: ServerResponse, legacy: boolean, group?: string, version?: string): void {
    if (group === undefined || (legacy && version === undefined)) {
      if (wantsAggregated(req.headers.accept)) {
        const body = JSON.stringify(aggregatedDiscovery(this.registry, legacy));
        res.writeHead(200, { 'Content-Type': AGGREGATED_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body), Vary: 'Accept' });
        res.end(body);
        return;
      }
      return sendJson(res, 200, legacy ? apiVersions(this.serverAddress) : apiGroupList(this.registry), { Vary: 'Accept' });
    }
    if (version === undefined) return sendJson(res, 200, apiGroup(this.registry, group));
    return sendJson(res, 200, resourceList(this.registry, legacy ? '' : group, version));
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const started = Date.now();
    const who: { user?: UserInfo; attrs?: Partial<Attributes> } = {};
    try {
      const url = splitUrl(req.url);
      const user = (who.user = await this.authenticate(req));
      const info = requestInfo('GET', url.pathname, url.searchParams);
      if (info.kind === 'resource') who.attrs = { verb: 'create', group: info.group, resource: info.resource, subresource: info.subresource, namespace: info.namespace, name: info.name };
      if (info.kind !== 'resource' || !['exec', 'attach'].includes(info.subresource ?? '') || !info.name) {
        throw new ApiError('BadRequest', 'upgrades are served only for pods/exec and pods/attach');
      }
      // A connection that runs commands is a create, whatever the HTTP method of the upgrade.
      await this.authorize({ user, verb: 'create', group: info.group, resource: info.resource, subresource: info.subresource, namespace: info.namespace, name: info.name });
      const type = this.resolve(info);
      if (type.group !== '' || type.resource !== 'pods') throw new ApiError('NotFound', `${type.resource} has no ${info.subresource} subresource`);
      const pod = await this.options.store
        .get(refOf(type), { namespace: info.namespace, name: info.name })
        .catch((err) => Promise.reject(storeError(type, info.name!, err)));
      await this.pods.upgradeStream(info.subresource as 'exec' | 'attach', req, socket, head, pod, url.searchParams);
      socket.on('close', () => this.audit(req, started, who, 101));
    } catch (err) {
      this.audit(req, started, who, statusOf(err).code);
      rejectUpgrade(socket, err);
    }
  }

  /** Releases ClusterIPs and NodePorts of deleted Services. */
  private async repairAllocations(): Promise<void> {
    this.repairTimer = undefined;
    await this.services.repair().catch((err: unknown) => log.warn(`service allocation repair: ${(err as Error).message}`));
  }

  /** Stops listening, ends watches and the garbage collector (the store stays open: the caller owns it). */
  async close(): Promise<void> {
    if (this.inClusterIp) await this.clusterObjects?.withdraw(this.inClusterIp).catch((e: Error) => log.warn(`cannot withdraw from default/kubernetes: ${e.message}`));
    this.indexes.abort();
    this.namespaceDefaults?.stop();
    this.aggregator?.stop();
    this.signer?.stop();
    this.credentials.stop();
    if (this.authReloader) clearInterval(this.authReloader);
    clearInterval(this.repairInterval);
    clearTimeout(this.repairTimer);
    this.gc.stop();
    this.caches.close();
    const server = this.server;
    this.server = undefined;
    if (server) {
      // closeAllConnections ends HTTP connections only: sockets still in their TLS handshake and upgraded
      // ones (exec, attach) would hold server.close() for as long as their clients keep them open.
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of this.sockets) socket.destroy();
      });
    }
    await this.auditLog?.close();
  }
}

/** Path and query of a request target, without URL resolution (a path like `//x` is not a host). */
function splitUrl(raw: string | undefined): { pathname: string; searchParams: URLSearchParams } {
  const target = raw ?? '/';
  const q = target.indexOf('?');
  return { pathname: q >= 0 ? target.slice(0, q) : target, searchParams: new URLSearchParams(q >= 0 ? target.slice(q + 1) : '') };
}

const VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-nubis',
  gitCommit: '',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'n/a',
  compiler: 'nubis',
  platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
};
