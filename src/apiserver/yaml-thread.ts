/**
 * A YAML thread of YamlParser: parses one request body at a time into the plain value it stands for
 * (one document, aliases bounded), so a slow body never holds the API server's event loop.
 */
import { parentPort } from 'node:worker_threads';
import { parseYamlDocument } from './yaml-document.js';

const port = parentPort;
if (!port) throw new Error('yaml-thread.ts runs only as a worker thread');
port.postMessage({ ready: true });
port.on('message', (m: { text: string }) => {
  try {
    port.postMessage({ value: parseYamlDocument(m.text) });
  } catch (err) {
    port.postMessage({ error: (err as Error).message });
  }
});
