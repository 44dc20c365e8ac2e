import chalk from 'chalk';

/** Log levels, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** A logger bound to one node. Lines look like `12:00:01.234 [dev1@127.0.0.1] info  message`. */
export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/**
 * Level from `RING_LOG` (debug|info|warn|error|silent). Default: `info` for processes started
 * by hand, `warn` under vitest so test output stays readable.
 */
function threshold(): number {
  const env = process.env.RING_LOG;
  if (env === 'silent') return Infinity;
  if (env && env in ORDER) return ORDER[env as LogLevel];
  return process.env.VITEST ? ORDER.warn : ORDER.info;
}

const COLOUR: Record<LogLevel, (s: string) => string> = {
  debug: chalk.gray,
  info: chalk.cyan,
  warn: chalk.yellow,
  error: chalk.red,
};

/** A logger whose lines are prefixed with `node`. Writes to stderr. */
export function createLogger(node: string): Logger {
  const min = threshold();
  const write = (level: LogLevel, msg: string) => {
    if (ORDER[level] < min) return;
    const time = new Date().toISOString().slice(11, 23);
    process.stderr.write(`${chalk.gray(time)} [${node}] ${COLOUR[level](level.padEnd(5))} ${msg}\n`);
  };
  return {
    debug: (m) => write('debug', m),
    info: (m) => write('info', m),
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
  };
}

/**
 * `fn`, wrapped so that an error it throws is logged (as `<what> failed: <stack>`) instead of
 * escaping. For timers and event handlers that act on state a peer sent: an uncaught error
 * there would end the whole node, where a logged one ends only that round.
 */
export function guard<A extends unknown[]>(log: Logger, what: string, fn: (...args: A) => void): (...args: A) => void {
  return (...args: A) => {
    try {
      fn(...args);
    } catch (err) {
      log.error(`${what} failed: ${(err as Error).stack ?? err}`);
    }
  };
}
