/**
 * The OCI driver (pinned-namespace sandboxes, conmon + runc workloads) passes the sandbox driver
 * conformance suite that every driver passes, on a data dir of its own, and leaves nothing behind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RealHost } from '../../../src/host/real-host.js';
import { Images } from '../../../src/image/images.js';
import { OverlaySnapshotStore } from '../../../src/image/snapshots.js';
import { sandboxDriverConformance } from '../../../src/runtime/conformance.js';
import { OciDriver } from '../../../src/runtime/oci/oci-driver.js';
import { assertNoLeftovers, snapshotHost } from '../../helpers/leaks.js';

sandboxDriverConformance('oci', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nubis-oci-conf-'));
  const before = snapshotHost();
  const host = new RealHost();
  const images = new Images(dir, host, { snapshots: new OverlaySnapshotStore(path.join(dir, 'snapshots'), host) });
  const sh = (script: string) => ({ entrypoint: ['sh', '-c', script] });
  return {
    driver: new OciDriver({ dataDir: dir, host, images }),
    image: 'busybox',
    programs: {
      print: (out, err, code) => sh(`echo ${out}; echo ${err} >&2; exit ${code}`),
      sleep: () => sh('trap "exit 143" TERM; while :; do sleep 0.1; done'),
      echo: (text) => ['echo', text],
      exit: (code) => ['sh', '-c', `exit ${code}`],
    },
    cleanup: async () => {
      try {
        assertNoLeftovers(dir, before);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
});
