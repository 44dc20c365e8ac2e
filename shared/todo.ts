import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Thrown by exercise stubs. The message names the exercise, the step and the file so that a
 * failing test tells the attendee exactly where to work, e.g.
 * `ex1-ping step 2 is not done yet: implement pingKey() in exercises/ex1-ping/ping.ts`.
 */
export class NotImplementedError extends Error {
  constructor(
    readonly exercise: string,
    readonly step: number,
    readonly file: string,
    what: string,
  ) {
    super(`${exercise} step ${step} is not done yet: ${what} in ${file}`);
    this.name = 'NotImplementedError';
  }
}

/**
 * Marks unfinished exercise code. Call it as `todo('ex1-ping', 2, import.meta.url, 'implement pingKey()')`.
 * @param fileUrl `import.meta.url` of the stub file; shown relative to the repository root.
 * @throws NotImplementedError always.
 */
export function todo(exercise: string, step: number, fileUrl: string, what: string): never {
  const root = fileURLToPath(new URL('..', import.meta.url));
  throw new NotImplementedError(exercise, step, stubPath(root, fileURLToPath(fileUrl)), what);
}

/**
 * `file` relative to `root`, with `/` between its parts on every OS (`exercises/ex1-ping/ping.ts`,
 * also on Windows), as messages, `npm run progress` and the READMEs show it.
 * @param paths the path flavour of `root` and `file` (default this OS's; tests pass `path.win32`).
 */
export function stubPath(root: string, file: string, paths: path.PlatformPath = path): string {
  return paths.relative(root, file).split(paths.sep).join('/');
}
