import path from 'node:path';
import type { CliContext } from '../context.js';
import { Images } from '../../image/images.js';
import { OverlaySnapshotStore } from '../../image/snapshots.js';
import { imageDigestsInUse } from '../../runtime/oci/container-store.js';
import { OciDriver } from '../../runtime/oci/oci-driver.js';

/** The container driver of the CLI's data dir; `runtime` picks runc (default), crun or a path. */
export function containerDriver(ctx: CliContext, runtime?: string): OciDriver {
  const dataDir = ctx.dataDir();
  const images = new Images(dataDir, ctx.host, {
    snapshots: new OverlaySnapshotStore(path.join(dataDir, 'snapshots'), ctx.host),
    inUse: () => imageDigestsInUse(dataDir),
  });
  return new OciDriver({
    dataDir,
    host: ctx.host,
    images,
    runtime: runtime ?? process.env.NUBIS_RUNTIME,
    // How conmon calls us back to remove a detached --rm container once it exits.
    selfCommand: process.argv[1] ? [process.execPath, ...process.execArgv, process.argv[1]] : undefined,
  });
}
