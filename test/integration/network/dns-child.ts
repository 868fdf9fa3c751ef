/**
 * Runs the cluster DNS server in the namespace it is started in (the tests start it through nsenter):
 * argv[2] is the listen address, argv[3] the port, argv[4] the services as JSON. Prints "ready" once it
 * listens; stops on SIGTERM.
 */
import { ClusterDns, type DnsService } from '../../../src/network/cluster-dns.js';
import { DnsServer } from '../../../src/network/dns-server.js';

const [host, port, services] = process.argv.slice(2);
const dns = new ClusterDns();
dns.reset(JSON.parse(services!) as DnsService[]);
const server = new DnsServer(dns, { host, port: Number(port) });
await server.start();
console.log('ready');
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
