/** How containers are shown: docker-like ps rows, statuses and the inspect document. */
import { humanDuration } from '../context.js';
import type { WorkloadInfo } from '../../runtime/driver.js';

/** "Up 3 seconds", "Up 2 minutes (Paused)", "Exited (0) 2 seconds ago", "Created". */
export function statusText(info: WorkloadInfo, now = Date.now()): string {
  const s = info.state;
  switch (s.status) {
    case 'created':
      return 'Created';
    case 'running':
    case 'paused': {
      const since = s.startedAt ?? info.created;
      return `Up ${humanDuration(now - since.getTime())}${s.status === 'paused' ? ' (Paused)' : ''}`;
    }
    case 'exited': {
      const at = s.finishedAt ? ` ${humanDuration(now - s.finishedAt.getTime())} ago` : '';
      return `Exited (${s.exitCode ?? -1})${at}`;
    }
  }
}

/** The COMMAND column: quoted and cut like docker's. */
export function commandText(argv: string[], width = 20): string {
  const full = argv.join(' ');
  return `"${full.length > width ? `${full.slice(0, width - 1)}…` : full}"`;
}

export function psRow(info: WorkloadInfo, now = Date.now()): string[] {
  return [
    info.id.slice(0, 12),
    info.image,
    commandText(info.command),
    `${humanDuration(now - info.created.getTime())} ago`,
    statusText(info, now),
    info.name,
  ];
}

export const PS_HEADER = ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'NAMES'];

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Docker's inspect shape, the parts Nubis knows. */
export function inspectDocument(info: WorkloadInfo): Record<string, unknown> {
  const s = info.state;
  const r = info.spec.resources ?? {};
  const [cmdHead, ...cmdRest] = info.command;
  return {
    Id: info.id,
    Created: info.created.toISOString(),
    Path: cmdHead ?? '',
    Args: cmdRest,
    State: {
      Status: s.status,
      Running: s.status === 'running' || s.status === 'paused',
      Paused: s.status === 'paused',
      OOMKilled: s.oomKilled,
      Dead: false,
      Pid: s.pid ?? 0,
      ExitCode: s.exitCode ?? 0,
      StartedAt: s.startedAt?.toISOString() ?? ZERO_TIME,
      FinishedAt: s.finishedAt?.toISOString() ?? ZERO_TIME,
    },
    Image: info.imageDigest,
    Name: `/${info.name}`,
    Driver: 'overlay',
    Runtime: info.driver,
    LogPath: info.logPath,
    HostConfig: {
      Memory: r.memoryBytes ?? 0,
      NanoCpus: r.cpus !== undefined ? Math.round(r.cpus * 1e9) : 0,
      PidsLimit: r.pidsLimit ?? null,
      ReadonlyRootfs: Boolean(info.spec.readOnlyRootfs),
      AutoRemove: Boolean(info.spec.autoRemove),
    },
    GraphDriver: {
      Name: 'overlay',
      Data: {
        LowerDir: info.rootfs.lowerDirs.join(':'),
        UpperDir: info.rootfs.upperDir,
        WorkDir: info.rootfs.workDir,
        MergedDir: info.rootfs.path,
      },
    },
    Config: {
      Hostname: info.id.slice(0, 12),
      User: info.spec.user ?? '',
      Tty: info.config.tty,
      OpenStdin: Boolean(info.spec.stdin),
      Env: info.config.env,
      Cmd: info.spec.command ?? null,
      Entrypoint: info.spec.entrypoint ?? null,
      Image: info.image,
      WorkingDir: info.config.workdir,
      StopSignal: info.config.stopSignal,
      Labels: info.spec.labels ?? {},
    },
  };
}
