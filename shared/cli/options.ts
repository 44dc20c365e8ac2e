/**
 * Argument parsing and running shared by the command-line tools (`npm start`, `npm run node`,
 * `npm run admin`, and the workshop's tools): a thin layer over `node:util` parseArgs that turns
 * every kind of bad input into a {@link UsageError} with a one-line message, validators for
 * ports, addresses, node names and ring sizes, and {@link runMain}, the one runner of them all.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import chalk, { type ChalkInstance } from 'chalk';
import { validateRingSize } from '../chash.js';

/**
 * Bad command-line input, in every tool (runtime and workshop): {@link runMain} prints its
 * message on one line with a pointer to `--help` and exits with {@link USAGE_EXIT_CODE}.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Exit code for bad command-line input (as most Unix tools do); runtime failures exit 1. */
export const USAGE_EXIT_CODE = 2;

/**
 * Environment variable devrel (and the scenario harness) sets in each node it starts: such a
 * node stops when its parent goes away (even if the parent was killed hard), so none is left
 * behind. The node watches the IPC channel its parent opened (`disconnect`), which works on
 * every OS; Windows never re-parents an orphan, so `process.ppid` could not tell.
 */
export const PARENT_PID_ENV = 'RING_DEVREL_PARENT_PID';

/** Host the tools assume when a node name or address leaves it out. */
export const DEFAULT_HOST = '127.0.0.1';

/**
 * `parseArgs` (strict unless `config.strict` is false), with its errors turned into short {@link UsageError}s
 * (`unknown option --foo`, `option --port needs a value`, `unexpected argument x`).
 * @throws UsageError on an unknown option, a missing or ambiguous value, or a positional
 *   argument when `config.allowPositionals` is not set.
 */
export function parseCommandLine<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config); // strict by default: unknown options throw
  } catch (err) {
    throw new UsageError(parseErrorMessage(err, config));
  }
}

function parseErrorMessage(err: unknown, config: ParseArgsConfig): string {
  const e = err as { code?: string; message?: string };
  const message = String(e.message ?? err);
  // Node's messages quote the option and run over several lines; keep the gist.
  const option = /'(-[^' ]+)/.exec(message)?.[1] ?? '';
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      // The same code for `--flag=value` on a boolean and a string option without its value.
      return isBooleanOption(config, message)
        ? `option ${option} does not take a value`
        : `option ${option} needs a value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? ''}`.trimEnd();
    default:
      return message.split('\n')[0] ?? message;
  }
}

/**
 * True if the option Node's parse error is about (`Option '-h, --help' …`, `Option '--port <value>' …`)
 * is declared boolean in `config`.
 */
function isBooleanOption(config: ParseArgsConfig, message: string): boolean {
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
  const long = /--([^\s,<=']+)/.exec(quoted)?.[1];
  const short = /(?:^|[\s,])-([^-\s,<='])(?=[\s,]|$)/.exec(quoted)?.[1];
  const options = config.options ?? {};
  const spec = long !== undefined ? options[long] : Object.values(options).find((o) => o.short === short);
  return spec?.type === 'boolean';
}

/**
 * An integer in `min..max` from the text of option `flag`.
 * @throws UsageError `--nodes must be an integer between 1 and 9, got "x"`.
 */
export function parseInteger(text: string, flag: string, min: number, max: number): number {
  const n = /^[0-9]+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`${flag} must be an integer between ${min} and ${max}, got "${text}"`);
  return n;
}

/**
 * A TCP port (1..65535, or 0 = "any free port" when `allowZero`).
 * @throws UsageError naming `flag` and the bad value.
 */
export function parsePort(text: string, flag = '--port', allowZero = true): number {
  return parseInteger(text, flag, allowZero ? 0 : 1, 65535);
}

/**
 * A ring size Q: a power of two in 8..1024.
 * @throws UsageError naming `flag` and the bad value.
 */
export function parseRingSize(text: string, flag = '--ring-size'): number {
  const q = parseInteger(text, flag, 1, 1 << 20);
  try {
    validateRingSize(q);
  } catch {
    throw new UsageError(`${flag} must be a power of two between 8 and 1024, got "${text}"`);
  }
  return q;
}

/**
 * A node address `host:port` (port 1..65535). A bare port means {@link DEFAULT_HOST}.
 * IPv6 hosts go in brackets: `[::1]:8101`.
 * @returns the normalised `host:port`.
 * @throws UsageError if it is not of that form.
 */
export function parseAddr(text: string, flag = '--node'): string {
  const value = text.trim();
  if (/^[0-9]+$/.test(value)) return `${DEFAULT_HOST}:${parsePort(value, flag, false)}`;
  const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):([0-9]+)$/.exec(value);
  if (!m) throw new UsageError(`${flag} must be HOST:PORT, e.g. 127.0.0.1:8101, got "${text}"`);
  return `${m[1]}:${parsePort(m[2] as string, flag, false)}`;
}

/**
 * A node name: `dev1` becomes `dev1@127.0.0.1`; `name@host` is kept as is.
 * @throws UsageError if the name is empty, contains whitespace, or has an empty part around `@`.
 */
export function parseNodeName(text: string, flag = '--name'): string {
  const name = text.trim();
  if (name === '' || /\s/.test(name))
    throw new UsageError(`${flag} must be a node name like dev1@127.0.0.1, got "${text}"`);
  if (!name.includes('@')) return `${name}@${DEFAULT_HOST}`;
  const [local, host, ...rest] = name.split('@');
  if (!local || !host || rest.length > 0)
    throw new UsageError(`${flag} must be a node name like dev1@127.0.0.1, got "${text}"`);
  return name;
}

/** A string option that must not be empty. @throws UsageError naming `flag`. */
export function nonEmpty(text: string, flag: string): string {
  if (text.trim() === '') throw new UsageError(`${flag} must not be empty`);
  return text;
}

/**
 * Where a command run in-process writes, and how: the process's streams for a real run, buffers
 * in the tests (which call a tool's exported function instead of spawning `node --import tsx`,
 * about 1 s of CPU per process).
 */
export interface ToolIo {
  /** Write to standard output, as is (the caller adds the newlines). */
  readonly stdout: (text: string) => void;
  /** Write to standard error, as is. */
  readonly stderr: (text: string) => void;
  /** Colours of the output: level 0 for none (a pipe, `FORCE_COLOR=0`). */
  readonly chalk: ChalkInstance;
  /** Environment the tool reads (`WORKSHOP_DEBUG` adds stacks to error lines). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The process's own streams, chalk's colour level (from the terminal and `FORCE_COLOR`) and environment. */
export function processIo(): ToolIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    chalk,
    env: process.env,
  };
}

/** Print `error: <message>` to stderr (of `io`, the process's by default), in red when it colours. */
export function printError(message: string, io: ToolIo = processIo()): void {
  io.stderr(`${io.chalk.red('error:')} ${message}\n`);
}

/** Options of {@link runMain}. */
export interface RunOptions {
  /**
   * Prefix of the error line instead of `error:`: the attendee commands use their name
   * (`hint: <message>  (npm run hint -- --help)`, the whole line red, the pointer dimmed).
   */
  readonly label?: string;
  /**
   * On failure, `at-once` (default) exits with `process.exit` right after the error line: a
   * tool may still hold a node, sockets or child processes. `when-idle` only sets
   * `process.exitCode` and lets the event loop drain (the attendee commands).
   */
  readonly exit?: 'at-once' | 'when-idle';
}

/** True for the errors `parseArgs` throws itself (unknown option, missing value, stray argument). */
function isParseArgsError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

/**
 * Report what a tool's `main` threw, as {@link runMain} does, on `io.stderr`, and return the
 * exit code: a {@link UsageError} or a parseArgs error is one line with a pointer to `--help`
 * and {@link USAGE_EXIT_CODE}; anything else one line with its message (the stack too with
 * `WORKSHOP_DEBUG=1`) and 1. The line is `error: <message> (see <prog> -- --help)`, or with
 * `label` `<label>: <message>  (<prog> -- --help)`.
 */
export function reportFailure(prog: string, err: unknown, io: ToolIo, label?: string): number {
  const usage = err instanceof UsageError || isParseArgsError(err);
  const message = err instanceof Error ? err.message : String(err);
  if (label === undefined) printError(usage ? `${message} (see ${prog} -- --help)` : message, io);
  else io.stderr(`${io.chalk.red(`${label}: ${message}`)}${usage ? io.chalk.dim(`  (${prog} -- --help)`) : ''}\n`);
  if (io.env.WORKSHOP_DEBUG && err instanceof Error) io.stderr(`${err.stack}\n`);
  return usage ? USAGE_EXIT_CODE : 1;
}

/**
 * Run a command-line tool's `main`: the one runner of every tool (`npm start`, `npm run
 * node | admin | grade | check:* | progress | hint | …`). `prog` is how the user runs the
 * tool (e.g. `npm run admin`), for the `--help` pointer.
 *
 * - `main` returns normally: a number it returns becomes `process.exitCode`; otherwise
 *   `main` decides itself when to exit (a tool that keeps running just returns).
 * - `main` throws: the error line of {@link reportFailure} on stderr, and its exit code
 *   ({@link USAGE_EXIT_CODE} for bad usage, 1 otherwise), at once or when idle (`opts.exit`).
 */
export async function runMain(prog: string, main: () => unknown, opts: RunOptions = {}): Promise<void> {
  try {
    const code = await main();
    if (typeof code === 'number') process.exitCode = code;
  } catch (err) {
    const code = reportFailure(prog, err, processIo(), opts.label);
    if ((opts.exit ?? 'at-once') === 'at-once') process.exit(code);
    process.exitCode = code;
  }
}

/**
 * True when the module at `moduleUrl` (its `import.meta.url`) is the script node was started
 * with, so that tests can import a tool's parser without running the tool.
 */
export function isMain(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
