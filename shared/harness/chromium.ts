/**
 * Finding a Chromium for the browser tests (playwright-core drives the system's browser; the
 * workshop does not download one).
 */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The Chromium to drive: CHROMIUM_PATH, else the first of the usual names on PATH or the usual places. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CHROMIUM_PATH) return existsSync(env.CHROMIUM_PATH) ? env.CHROMIUM_PATH : undefined;
  const names = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'chrome'];
  for (const dir of (env.PATH ?? '').split(delimiter))
    for (const name of names) if (dir && existsSync(join(dir, name))) return join(dir, name);
  const places = [
    '/Applications/Chromium.app/Contents/MacOS/Chromium',
    '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
    'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe',
    'C:\\Program Files (x86)\\Google\\Chrome\\Application\\chrome.exe',
  ];
  return places.find((p) => existsSync(p));
}

/** Why no browser was found, and what to do. */
export function noBrowserReason(env: NodeJS.ProcessEnv = process.env): string {
  return env.CHROMIUM_PATH
    ? `CHROMIUM_PATH=${env.CHROMIUM_PATH} does not exist`
    : 'no Chromium found (on PATH as chromium, chromium-browser or google-chrome, or in the usual places); install one (Debian: apt-get install chromium) or set CHROMIUM_PATH';
}
