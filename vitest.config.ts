import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { RecordReporter } from './tools/workshop/record_reporter.js';

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
// Tests in a real headless browser (playwright-core driving Debian's chromium): `npm run test:browser`.
const browser = ['shared/test/**/*.browser.test.ts'];
// The exercise suites run their tests concurrently (describe.concurrent), each test on its own
// cluster: most of a test's time is waiting (gossip, down detection, deadlines), which overlaps.
const exerciseTests = { maxConcurrency: 8 };

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // The usual output, and the results of `npm test` (the exercises project) recorded for
    // `npm run progress` (tools/workshop/record_reporter.ts). A --reporter on the command line
    // replaces both (the tools that run vitest with the JSON reporter record nothing).
    reporters: [
      'default',
      ...(process.env.GITHUB_ACTIONS === 'true' ? ['github-actions'] : []),
      new RecordReporter(tree('.')),
    ],
    // vitest's experimental on-disk module cache (about 1 s off every suite's start) stays off
    // unless asked for (`VITEST_FS_CACHE=1`): with it, check:mistakes saw suites that fail on a
    // mistake pass it, a wrong verdict no speed-up is worth.
    experimental: { fsModuleCache: process.env.VITEST_FS_CACHE === '1' },
    projects: [
      {
        extends: true,
        test: {
          name: 'runtime',
          include: ['shared/**/*.test.ts', 'tools/**/*.test.ts'],
          exclude: [...scenarios, ...browser, '**/node_modules/**'],
        },
      },
      {
        extends: true,
        resolve: { alias: { '@ex/': tree('exercises') } },
        test: { name: 'exercises', include: suites, exclude: bonus, ...exerciseTests },
      },
      {
        extends: true,
        resolve: { alias: { '@ex/': tree('exercises') } },
        test: { name: 'exercises-bonus', include: bonus, ...exerciseTests },
      },
      {
        extends: true,
        resolve: { alias: { '@ex/': tree('solutions') } },
        test: { name: 'solutions', include: suites, ...exerciseTests },
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
      // Services made by `npm run new -- <name>` (apps/<name>/, gitignored): `npm test -- <name>`
      // runs this project next to `exercises`. No @ex/ alias: they import shared/ by path.
      {
        extends: true,
        test: { name: 'apps', include: ['apps/*/*.test.ts'], ...exerciseTests },
      },
      // The dashboard in headless Chromium (npm run test:browser, run by CI): one file at a time.
      {
        extends: true,
        test: { name: 'browser', include: browser, testTimeout: 120_000, hookTimeout: 60_000, maxWorkers: 1 },
      },
    ],
  },
});
