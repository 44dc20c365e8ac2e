/**
 * `npm run slides`: render the Markdown decks in slides/ with Marp into self-contained HTML files
 * in .slides/ (arrow keys move, `f` toggles full screen) and print where they are. Static files
 * instead of Marp's server mode, because that server listens on every interface and we keep
 * servers on loopback.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './workshop/manifest.js';

const out = join(ROOT, '.slides');
const marp = spawnSync(
  process.execPath,
  [
    join(ROOT, 'node_modules/@marp-team/marp-cli/marp-cli.js'),
    '--html',
    '--input-dir',
    join(ROOT, 'slides'),
    '--output',
    out,
  ],
  {
    stdio: 'inherit',
    cwd: ROOT,
  },
);
if (marp.status !== 0) process.exit(marp.status ?? 1);
console.log('\nopen a deck in a browser (arrow keys to move, f for full screen):');
for (const f of readdirSync(out)
  .filter((x) => x.endsWith('.html'))
  .sort())
  console.log(`  ${pathToFileURL(join(out, f)).href}`);
