/** Reading the SVG that ring_svg.ts draws, for tests: its elements by tag and class. */

/** Every element `<tag ... class="cls ..." ...>` of `svg` as a map of its attributes, in document order. */
export function elements(svg: string, tag: string, cls: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const m of svg.matchAll(new RegExp(`<${tag} ([^>]*)>`, 'g'))) {
    const attrs = Object.fromEntries([...(m[1] ?? '').matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]]));
    if ((attrs.class ?? '').split(' ').includes(cls)) out.push(attrs as Record<string, string>);
  }
  return out;
}
