/**
 * `npm run test:browser`: the browser tests (vitest's `browser` project) when a Chromium is
 * there. Without one it says so and why, and exits 0 on a laptop; with CI=true it fails, since
 * CI must run them (.ci/run installs Debian's chromium). The test files themselves always run
 * their tests: run directly without a browser, they fail saying what to install.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { findChromium, noBrowserReason } from '../shared/harness/chromium.js';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!findChromium()) {
  if (process.env.CI === 'true') {
    console.error(`npm run test:browser: CI=true but ${noBrowserReason()}; .ci/run installs Debian's chromium`);
    process.exit(1);
  }
  console.log(`npm run test:browser: not run: ${noBrowserReason()}`);
  process.exit(0);
}
const vitest = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));
const run = spawnSync(process.execPath, [vitest, 'run', '--project', 'browser', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(run.status ?? 1);
