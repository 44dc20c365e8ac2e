import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// One copy of each exercise suite lives next to its stub (exercises/exN-*/exN.test.ts) and
// imports the attendee's code through the `@ex/` alias. The `exercises` project points that
// alias at exercises/, the `solutions` project at solutions/: same tests, two trees.
const tree = (dir: string) => fileURLToPath(new URL(`./${dir}/`, import.meta.url));
const suites = ['exercises/**/*.test.ts'];
// Bonus steps have their own suites (`*.bonus.test.ts`): attendees run them on request, they
// do not decide whether an exercise passes; the solutions must pass them too.
const bonus = ['exercises/**/*.bonus.test.ts'];
// Scenarios on node processes (shared/harness/processes.ts): their own project, not `runtime`.
const scenarios = ['shared/test/scenarios/**/*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'runtime',
          include: ['shared/**/*.test.ts', 'tools/**/*.test.ts'],
          exclude: [...scenarios, '**/node_modules/**'],
        },
      },
      {
        extends: true,
        resolve: { alias: { '@ex/': tree('exercises') } },
        test: { name: 'exercises', include: suites, exclude: bonus },
      },
      {
        extends: true,
        resolve: { alias: { '@ex/': tree('exercises') } },
        test: { name: 'exercises-bonus', include: bonus },
      },
      {
        extends: true,
        resolve: { alias: { '@ex/': tree('solutions') } },
        test: { name: 'solutions', include: suites },
      },
      // riak_test-style scenarios on real node processes (npm run test:scenarios): slow, and
      // one file at a time, so the nodes of two scenarios never compete for this machine's CPUs.
      {
        extends: true,
        test: {
          name: 'scenarios',
          include: scenarios,
          testTimeout: 120_000,
          hookTimeout: 60_000,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
          disableConsoleIntercept: true,
        },
      },
    ],
  },
});
