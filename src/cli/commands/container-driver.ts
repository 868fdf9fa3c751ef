import path from 'node:path';
import type { CliContext } from '../context.js';
import type { OciDriver } from '../../runtime/oci/oci-driver.js';

/**
 * The container driver of the CLI's data dir; `runtime` picks runc (default), crun or a path. The runtime
 * and image modules load here, on first use, so that registering the commands costs nothing.
 */
export async function containerDriver(ctx: CliContext, runtime?: string): Promise<OciDriver> {
  const [{ Images }, { OverlaySnapshotStore }, { imageDigestsInUse }, { OciDriver }] = await Promise.all([
    import('../../image/images.js'),
    import('../../image/snapshots.js'),
    import('../../runtime/oci/container-store.js'),
    import('../../runtime/oci/oci-driver.js'),
  ]);
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
    // How conmon calls us back to remove a detached --rm container once it exits. conmon runs in the
    // container's dir, so the call goes back to our cwd first (node options such as --import resolve there).
    selfCommand: process.argv[1]
      ? ['/bin/sh', '-c', 'cd "$1" && shift && exec "$@"', 'sh', process.cwd(), process.execPath, ...process.execArgv, process.argv[1]]
      : undefined,
  });
}
