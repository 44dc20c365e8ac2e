/**
 * The exercise READMEs stay readable in a half-day (issue 18): what an attendee reads before
 * "Going further" is at most 1,400 words (about 8 minutes), and the runtime calls the steps use
 * are listed near the top ("API you need"), before the steps.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadManifest, ROOT } from '../workshop/manifest.js';

/** Words an attendee reads before "Going further" (≈ 8 minutes at 175 words a minute). */
const MAX_WORDS = 1400;

/** The part of a README before its `## Going further` section (all of it without one). */
function beforeGoingFurther(text: string): string {
  const at = text.search(/^## Going further/m);
  return at < 0 ? text : text.slice(0, at);
}

/** Words as `wc -w` counts them: runs of non-space characters. */
function words(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

describe('exercise READMEs', () => {
  const exercises = loadManifest();

  it('covers every exercise of the manifest', () => {
    expect(exercises.length).toBeGreaterThanOrEqual(8);
  });

  for (const ex of exercises) {
    it(`${ex.id}: at most ${MAX_WORDS} words before "Going further", an "API you need" box before the steps`, () => {
      const text = readFileSync(join(ROOT, ex.folder, 'README.md'), 'utf8');
      const read = beforeGoingFurther(text);
      expect(words(read), `${ex.folder}/README.md: words before "## Going further"`).toBeLessThanOrEqual(MAX_WORDS);
      const api = read.search(/^## API you need/m);
      const steps = read.search(/^## (Steps|Your task|What to build)/m);
      expect(api, `${ex.folder}/README.md has no "## API you need" section`).toBeGreaterThan(0);
      if (steps >= 0) expect(api, 'the API box comes before the steps').toBeLessThan(steps);
    });
  }
});
