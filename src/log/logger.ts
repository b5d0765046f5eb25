import { type Logger, pino } from 'pino';
import { UserError } from '../util/user-error.js';

export type { Logger };

/** pino's levels, quietest last. */
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export interface LoggerOptions {
  level?: string;
  pretty?: boolean;
  deviceId?: string;
}

/** JSON logs by default, pretty on a TTY; every line carries the deviceId when one is given. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env['DOORBELL_LOG_LEVEL'] ?? 'info';
  if (!LOG_LEVELS.includes(level)) {
    const from = options.level === undefined ? 'DOORBELL_LOG_LEVEL' : '--log-level';
    throw new UserError(`${from} ${JSON.stringify(level)}: expected one of ${LOG_LEVELS.join(', ')}`);
  }
  const pretty = options.pretty ?? (process.stderr.isTTY && process.env['DOORBELL_LOG_FORMAT'] !== 'json');
  const base = options.deviceId ? { deviceId: options.deviceId } : {};
  if (pretty) {
    return pino({
      level,
      base,
      transport: { target: 'pino-pretty', options: { destination: 2, ignore: 'pid,hostname' } },
    });
  }
  return pino({ level, base }, pino.destination(2));
}

/** A logger that drops everything; for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
