/**
 * The set-up the real drivers' conformance runs share: a data dir of its own with an image store that has
 * the built-in busybox, busybox shell programs, and a leftover check when the suite ends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RealHost } from '../../src/host/real-host.js';
import { Images } from '../../src/image/images.js';
import { OverlaySnapshotStore } from '../../src/image/snapshots.js';
import { sandboxDriverConformance } from '../../src/runtime/conformance.js';
import type { DriverDeps } from '../../src/runtime/registry.js';
import type { SandboxDriver } from '../../src/runtime/sandbox.js';
import { assertNoLeftovers, snapshotHost } from './leaks.js';

/** Runs the conformance suite against the driver `make` builds on a fresh data dir. */
export function realDriverConformance(name: string, make: (deps: DriverDeps) => SandboxDriver, before?: () => void): void {
  sandboxDriverConformance(name, async () => {
    before?.();
    const dir = mkdtempSync(path.join(os.tmpdir(), `nubis-${name}-conf-`));
    const snapshot = snapshotHost();
    const host = new RealHost();
    const images = new Images(dir, host, { snapshots: new OverlaySnapshotStore(path.join(dir, 'snapshots'), host) });
    const sh = (script: string) => ({ entrypoint: ['sh', '-c', script] });
    return {
      driver: make({ dataDir: dir, host, images }),
      image: 'busybox',
      programs: {
        print: (out, err, code) => sh(`echo ${out}; echo ${err} >&2; exit ${code}`),
        sleep: () => sh('trap "exit 143" TERM; while :; do sleep 0.1; done'),
        echo: (text) => ['echo', text],
        exit: (code) => ['sh', '-c', `exit ${code}`],
      },
      cleanup: async () => {
        try {
          assertNoLeftovers(dir, snapshot);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  });
}
