import { relative } from 'node:path';
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
  throw new NotImplementedError(exercise, step, relative(root, fileURLToPath(fileUrl)), what);
}
