/**
 * @module inline-assets
 * The build step that makes each page one self-contained file (no CDN, nothing to fetch but its
 * data): it inlines uPlot's script and styles (from the `uplot` package, MIT) and the pages'
 * own scripts and styles into the skeletons under src/client/, and writes the results to
 * dist/ (run-page.html, models-page.html), where render.ts reads them. Run by `npm run build`
 * after tsc, from the package's dist/.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = dirname(fileURLToPath(import.meta.url));
const CLIENT = join(DIST, '../src/client');
const UPLOT = join(dirname(createRequire(import.meta.url).resolve('uplot')), '../dist');

const read = (path: string) => readFileSync(path, 'utf8');

/** Text that may sit inside a <script> or <style> element: it must not close it. */
function inlinable(text: string, element: 'script' | 'style', what: string): string {
  if (new RegExp(`</${element}`, 'i').test(text))
    throw new Error(`${what} contains </${element}: it cannot be inlined`);
  return text;
}

function build(skeleton: string, assets: Record<string, string>, out: string): void {
  let html = read(join(CLIENT, skeleton));
  for (const [name, content] of Object.entries(assets)) {
    const token = `/*{{${name}}}*/`;
    if (!html.includes(token)) throw new Error(`${skeleton} has no ${token}`);
    html = html.split(token).join(content);
  }
  if (!html.includes('{{DATA}}')) throw new Error(`${skeleton} has no {{DATA}} placeholder`);
  writeFileSync(join(DIST, out), html);
}

const common = read(join(CLIENT, 'common.js'));
const pageCss = inlinable(read(join(CLIENT, 'page.css')), 'style', 'page.css');
build(
  'run-page.html',
  {
    UPLOT_CSS: inlinable(read(join(UPLOT, 'uPlot.min.css')), 'style', 'uPlot.min.css'),
    PAGE_CSS: pageCss,
    UPLOT_JS: inlinable(read(join(UPLOT, 'uPlot.iife.min.js')), 'script', 'uPlot.iife.min.js'),
    PAGE_JS: inlinable(common + read(join(CLIENT, 'run-page.js')), 'script', 'run-page.js'),
  },
  'run-page.html',
);
build(
  'models-page.html',
  {
    PAGE_CSS: pageCss,
    PAGE_JS: inlinable(common + read(join(CLIENT, 'models-page.js')), 'script', 'models-page.js'),
  },
  'models-page.html',
);
