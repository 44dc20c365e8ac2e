/**
 * `npm run slides`: render the Markdown decks in slides/ with Marp into self-contained HTML files
 * in .slides/ (arrow keys move, `f` toggles full screen) and print where they are. Static files
 * instead of Marp's server mode, because that server listens on every interface and we keep
 * servers on loopback.
 *
 * Marp is not a dependency of the repository: only instructors render slides, and its ~300
 * packages (puppeteer-core, chromium-bidi, mathjax …) made every attendee's `npm install` twice
 * as large. It runs through `npx --yes @marp-team/marp-cli@<MARP_VERSION>`: fetched into npm's
 * cache on the first run (about 100 MB, once), run from there after. HTML output needs no browser.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMain } from '../shared/cli/options.js';
import { ROOT } from './workshop/manifest.js';

/** The Marp CLI version the decks are written for (pinned: npx fetches exactly this one). */
export const MARP_VERSION = '4.5.1';

/** The command line that renders slides/ into `out` (npx and its arguments; .marprc.yml is read from the root). */
export function marpCommand(out: string): { command: string; args: string[] } {
  return {
    // npx is a .cmd on Windows, which spawn only runs through a shell.
    command: process.platform === 'win32' ? 'npx.cmd' : 'npx',
    args: [
      '--yes',
      `@marp-team/marp-cli@${MARP_VERSION}`,
      '--html',
      '--input-dir',
      join(ROOT, 'slides'),
      '--output',
      out,
    ],
  };
}

function main(): number {
  const out = join(ROOT, '.slides');
  const { command, args } = marpCommand(out);
  process.stderr.write(`rendering slides/ with ${args[1]} (npx fetches it on the first run)\n`);
  const marp = spawnSync(command, args, { stdio: 'inherit', cwd: ROOT, shell: process.platform === 'win32' });
  if (marp.error) {
    console.error(`error: could not run npx (${marp.error.message}); it comes with npm`);
    return 1;
  }
  if (marp.status !== 0) return marp.status ?? 1;
  if (!existsSync(out)) return 1;
  console.log('\nopen a deck in a browser (arrow keys to move, f for full screen):');
  for (const f of readdirSync(out)
    .filter((x) => x.endsWith('.html'))
    .sort())
    console.log(`  ${pathToFileURL(join(out, f)).href}`);
  return 0;
}

if (isMain(import.meta.url)) process.exitCode = main();
