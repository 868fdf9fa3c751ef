/** One call from a kubeconfig to a ready client: what the CLI, controllers and the agent start with. */
import { Discovery } from './discovery.js';
import { connectionFor, loadKubeconfig, selectContext, type KubeconfigSource, type SelectedContext } from './kubeconfig.js';
import { RestClient } from './rest-client.js';

export interface Connected {
  client: RestClient;
  discovery: Discovery;
  context: SelectedContext;
  /** The context's namespace ("default" when it names none). */
  namespace: string;
}

/** Loads the kubeconfig of `source`, selects `contextName` (or current-context) and makes a client. */
export async function connect(source: KubeconfigSource, contextName?: string, options: { userAgent?: string } = {}): Promise<Connected> {
  const { config } = await loadKubeconfig(source);
  const context = selectContext(config, contextName);
  const client = new RestClient(await connectionFor(context), options);
  return { client, discovery: new Discovery(client), context, namespace: context.namespace };
}
