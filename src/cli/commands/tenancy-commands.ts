/**
 * Tenancy verbs: `nubis tenant create`, `nubis user create|passwd`, `nubis token create` and `nubis
 * login`. Only the command tree is built here; the implementations load when a verb runs.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { withKubeFlags } from './kube-session.js';

const collectCsv = (v: string, prev: string[] = []) => [...prev, ...v.split(',').filter(Boolean)];
type Opts = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function registerTenancyCommands(program: Command, ctx: CliContext): void {
  const tenant = program.command('tenant').description('tenants: isolated owners of namespaces, users and quotas');
  withKubeFlags(tenant.command('create').description('create a tenant').argument('<name>'), false)
    .option('--display-name <text>', 'a readable name')
    .option('--runtime-class <name>', 'every pod of the tenant runs under this RuntimeClass')
    .option('--allow <what>', 'let its pods use: hostNetwork, hostPID, hostIPC, hostPath, privileged, hostPorts, nodePorts (repeat or comma-separate)', collectCsv)
    .option('--quota <name=quantity>', 'a limit across its namespaces, e.g. pods=20,requests.cpu=4 (repeat or comma-separate)', collectCsv)
    .option('--namespace-for <ns>', 'also create this namespace for it')
    .action(async (name: string, o: Opts) => (await import('./tenancy-run.js')).runTenantCreate(ctx, name, o));

  const user = program.command('user').description('users of tenants');
  withKubeFlags(user.command('create').description('create a user of a tenant').argument('<name>'), false)
    .option('--tenant <name>', 'its tenant (a tenant admin may leave it out: its own)')
    .option('--role <role>', 'admin, member or reader (repeat or comma-separate; default member)', collectCsv)
    .option('--password-stdin', 'read its password from standard input')
    .action(async (name: string, o: Opts) => (await import('./tenancy-run.js')).runUserCreate(ctx, name, o));
  withKubeFlags(user.command('passwd').description('set a user\'s password (read from standard input or the terminal)').argument('<name>'), false)
    .option('--password-stdin', 'read the password from standard input')
    .action(async (name: string, o: Opts) => (await import('./tenancy-run.js')).runUserPasswd(ctx, name, o));

  const token = program.command('token').description('tokens of the logged-in user');
  withKubeFlags(token.command('create').description('make a token for yourself (an application credential with --role); printed once'), false)
    .option('--role <role>', 'only these of your roles (repeat or comma-separate)', collectCsv)
    .option('--expiration <duration>', 'how long it lasts, e.g. 24h or 30d (default: until revoked)')
    .option('--description <text>', 'a note kept with it')
    .action(async (o: Opts) => (await import('./tenancy-run.js')).runTokenCreate(ctx, o));

  program
    .command('login')
    .description('log in as a tenant user and write a kubeconfig with the token')
    .requiredOption('-u, --user <name>', 'the user name')
    .option('--password-stdin', 'read the password from standard input')
    .option('--server <url>', 'the API server (default: that of the kubeconfig in effect: KUBECONFIG, <data-dir>/admin.kubeconfig, ~/.kube/config)')
    .option('--ca-file <file>', 'the server\'s CA certificate (default: the current context\'s)')
    .option('--expiration <duration>', 'how long the login lasts (10m to 90d; default 12h)')
    .option('--kubeconfig <file>', 'the kubeconfig to write into (default: KUBECONFIG, else ~/.kube/config)')
    .option('--context <name>', 'the context to read the server from, when --server is not given')
    .action(async (o: Opts) => (await import('./tenancy-run.js')).runLogin(ctx, o as never));
}
