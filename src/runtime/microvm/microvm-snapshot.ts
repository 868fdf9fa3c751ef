/**
 * Snapshots of a running micro-VM's device state and resuming from one, over QMP. The guest's RAM is not
 * in the snapshot: the VM runs on a memory file (qemu-command.ts `memoryFile`) and migration skips it
 * (`x-ignore-shared`), so a snapshot is a few tens of KiB written in milliseconds, and a clone that maps
 * the same file copy-on-write resumes where the original stopped. This is how vm-templates.ts makes and
 * uses templates.
 */
import { internal, invalid, timeout } from '../../lib/errors.js';
import { QmpClient } from './qmp.js';

/** Paths go into a shell command (QEMU's `exec:` migration): only plain characters. */
const PLAIN_PATH = /^\/[A-Za-z0-9_./-]+$/;

function plainPath(p: string): string {
  if (!PLAIN_PATH.test(p)) throw invalid(`snapshot path "${p}" must be absolute with letters, digits and "_./-" only`);
  return p;
}

interface MigrationInfo {
  status?: string;
  'error-desc'?: string;
}

async function ignoreSharedMemory(qmp: QmpClient): Promise<void> {
  await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'x-ignore-shared', state: true }] });
}

async function waitMigration(qmp: QmpClient, what: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    const info = (await qmp.execute('query-migrate')) as MigrationInfo;
    if (info.status === 'completed') return;
    if (info.status === 'failed' || info.status === 'cancelled') throw internal(`${what} failed: ${info['error-desc'] ?? info.status}`);
    if (Date.now() > deadline) throw timeout(`${what} did not finish in ${timeoutMs} ms (status ${info.status ?? 'none'})`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Stops the VM on `qmpSocket` and writes its device state to `stateFile`; the VM stays stopped. */
export async function snapshotMicrovm(qmpSocket: string, stateFile: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
  const file = plainPath(stateFile);
  const qmp = await QmpClient.connect(qmpSocket, opts);
  try {
    await qmp.execute('stop');
    await ignoreSharedMemory(qmp);
    await qmp.execute('migrate', { uri: `exec:cat > ${file}` });
    await waitMigration(qmp, 'saving the micro-VM state', opts.timeoutMs ?? 30_000, opts.signal);
  } finally {
    qmp.close();
  }
}

/** Loads `stateFile` into the VM on `qmpSocket` (started with `incoming`) and lets it run. */
export async function resumeMicrovm(qmpSocket: string, stateFile: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
  const file = plainPath(stateFile);
  const qmp = await QmpClient.connect(qmpSocket, opts);
  try {
    await ignoreSharedMemory(qmp);
    await qmp.execute('migrate-incoming', { uri: `exec:cat ${file}` });
    await waitMigration(qmp, 'loading the micro-VM state', opts.timeoutMs ?? 30_000, opts.signal);
    // A snapshot of a stopped VM loads stopped.
    await qmp.execute('cont');
  } finally {
    qmp.close();
  }
}
