/**
 * Starts a worker thread from a module beside the caller: the compiled `<name>.js` next to the bundle,
 * or the `<name>.ts` source under tsx (tests), which the thread registers itself.
 */
import { Worker } from 'node:worker_threads';

export function startThread(callerUrl: string, name: string): Worker {
  if (callerUrl.endsWith('.ts')) {
    const entry = new URL(`./${name}.ts`, callerUrl).href;
    const tsx = import.meta.resolve('tsx/esm/api');
    const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
    return new Worker(boot, { eval: true });
  }
  return new Worker(new URL(`./${name}.js`, callerUrl));
}
