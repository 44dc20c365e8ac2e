/**
 * The machine a bench ran on, and the tree it measured: recorded with every result so figures
 * from different machines or commits are never compared by mistake.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, release, type } from 'node:os';

/** Where the figures come from. */
export interface Machine {
  /** Logical CPUs (as `nproc`). */
  readonly cpus: number;
  /** CPU model (/proc/cpuinfo's `model name`, or os.cpus()). */
  readonly cpuModel: string;
  readonly node: string;
  /** e.g. `Debian GNU/Linux 12 (bookworm), Linux 6.1.0`. */
  readonly os: string;
}

export function machine(): Machine {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    model = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model;
  } catch {
    // not Linux: os.cpus() it is
  }
  let distro = '';
  try {
    distro = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '';
  } catch {
    // not Linux
  }
  return {
    cpus: availableParallelism(),
    cpuModel: model.trim(),
    node: process.version,
    os: [distro, `${type()} ${release()}`].filter((s) => s !== '').join(', '),
  };
}

/** The commit checked out in `root` (short hash, `+dirty` with uncommitted changes), or `unknown`. */
export function treeCommit(root: string): string {
  try {
    const git = (...args: string[]) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8' }).trim();
    const head = git('rev-parse', '--short', 'HEAD');
    return git('status', '--porcelain', '--untracked-files=no') === '' ? head : `${head}+dirty`;
  } catch {
    return 'unknown';
  }
}
