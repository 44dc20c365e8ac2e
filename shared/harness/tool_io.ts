/**
 * A {@link ToolIo} for tests that run a command in-process (`runAdmin`, `runNew`, …): no
 * colour, and everything it prints kept for the test to read.
 */
import { Chalk } from 'chalk';
import type { ToolIo } from '../cli/options.js';

/** A recording ToolIo: `out()` is stdout and stderr interleaved as written, `stdout()`/`stderr()` each alone. */
export interface RecordingIo extends ToolIo {
  out(): string;
  printed: { readonly stdout: string; readonly stderr: string };
}

/** A ToolIo without colour that records what is printed; `env` is the environment the tool sees (default empty). */
export function recordingIo(env: Readonly<Record<string, string | undefined>> = {}): RecordingIo {
  let all = '';
  const printed = { stdout: '', stderr: '' };
  return {
    stdout: (text) => {
      all += text;
      printed.stdout += text;
    },
    stderr: (text) => {
      all += text;
      printed.stderr += text;
    },
    chalk: new Chalk({ level: 0 }),
    env,
    out: () => all,
    printed,
  };
}
