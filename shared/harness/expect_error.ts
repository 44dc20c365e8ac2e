/**
 * Assertions on errors the runtime raises, shared by the exercise suites.
 */
import { expect } from 'vitest';

/**
 * Expect `promise` to fail with a RingError whose `code` is `code` (e.g. `unavailable`).
 * Any other error is rethrown as it is, so an unfinished exercise step shows its own `todo()`
 * message; an answer fails the test, naming `what` and the answer.
 */
export async function expectRingError(promise: Promise<unknown>, code: string, what: string): Promise<void> {
  let answer: unknown;
  try {
    answer = await promise;
  } catch (err) {
    if ((err as { code?: unknown }).code === code) return;
    throw err;
  }
  expect.fail(`${what}: expected a RingError with code "${code}", got an answer: ${JSON.stringify(answer)}`);
}
