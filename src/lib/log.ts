/** A small leveled logger writing one line per message to stderr. */
export type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let threshold: Level = (process.env.NUBIS_LOG_LEVEL as Level | undefined) ?? 'warn';

export function setLogLevel(level: Level): void {
  threshold = level;
}

function emit(level: Level, scope: string, msg: string): void {
  if (order[level] < order[threshold]) return;
  process.stderr.write(`${level === 'warn' ? 'warning' : level}: ${scope ? `${scope}: ` : ''}${msg}\n`);
}

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export function logger(scope: string): Logger {
  return {
    debug: (m) => emit('debug', scope, m),
    info: (m) => emit('info', scope, m),
    warn: (m) => emit('warn', scope, m),
    error: (m) => emit('error', scope, m),
  };
}
