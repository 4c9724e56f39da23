// Builds the playground (playground/, src/) into one static folder, dist/playground/ by default:
// index.html, app.js (the page), worker.js (the explorer, the kernel model and the designs, run in a
// Web Worker), report.css (the HTML report's own style sheet), playground.css and licenses.txt (the
// licenses of the packages bundled). Every URL in it
// is relative, so any static host serves it. esbuild bundles for the browser; the build fails on
// any import of a Node built-in, and a module `X.ts` with a sibling `X.browser.ts` (src/platform)
// is replaced by it. The examples (examples/*.yaml) are bundled into app.js.
//
//   node scripts/build-playground.mjs [OUTDIR]     (npm run playground)

import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_OUTDIR = join(ROOT, 'dist', 'playground');

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Fails the build on any import of a Node built-in (`node:fs`, `crypto`, ...). */
export const noNode = {
  name: 'no-node-builtins',
  setup(build) {
    build.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
      const base = args.path.startsWith('node:') ? args.path : args.path.split('/')[0];
      if (!builtins.has(base) && !args.path.startsWith('node:')) return undefined;
      return {
        errors: [
          {
            text: `${args.path} is a Node built-in: the playground runs in a browser (imported by ${args.importer})`,
          },
        ],
      };
    });
  },
};

/** `./x.js` resolves to `./x.browser.ts` where that file exists (src/platform). */
const browserVariants = {
  name: 'browser-variants',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (args) => {
      const candidate = resolve(args.resolveDir, args.path).replace(/\.js$/, '.browser.ts');
      try {
        readFileSync(candidate);
        return { path: candidate };
      } catch {
        return undefined;
      }
    });
  },
};

/** `vdm:examples`: every examples/*.yaml as `{ file, text }`, by name. */
const examples = {
  name: 'examples',
  setup(build) {
    build.onResolve({ filter: /^vdm:examples$/ }, () => ({ path: 'examples', namespace: 'vdm' }));
    build.onLoad({ filter: /.*/, namespace: 'vdm' }, () => {
      const dir = join(ROOT, 'examples');
      const files = readdirSync(dir)
        .filter((f) => f.endsWith('.yaml'))
        .sort();
      const list = files.map((file) => ({ file, text: readFileSync(join(dir, file), 'utf8') }));
      return {
        contents: `export default ${JSON.stringify(list)};`,
        loader: 'js',
        watchFiles: files.map((f) => join(dir, f)),
      };
    });
  },
};

/** The license of every package bundled (the bundles are copies of their code): licenses.txt. */
function licenses(metafile) {
  const packages = new Map();
  for (const input of Object.keys(metafile.inputs)) {
    const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m && !packages.has(m[1])) packages.set(m[1], join(ROOT, m[1]));
  }
  const parts = ['vfio-dmabuf-model (MIT) and the packages its playground bundles, with their licenses.', ''];
  for (const dir of [...packages.values()].sort()) {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
    parts.push(`${'='.repeat(78)}\n${pkg.name} ${pkg.version} (${pkg.license ?? 'see below'})\n`);
    parts.push(file ? readFileSync(join(dir, file), 'utf8').trim() : '(no license file in the package)', '');
  }
  return `${parts.join('\n')}\n`;
}

/** The HTML report's style sheet (REPORT_CSS in src/report/html.ts), so both look the same. */
async function reportCss() {
  const r = await esbuild.build({
    entryPoints: [join(ROOT, 'src', 'report', 'html.ts')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    write: false,
    logLevel: 'silent',
  });
  const code = r.outputFiles[0].text;
  const mod = await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);
  return mod.REPORT_CSS;
}

/** Builds the playground into `outdir`; returns the files written and their sizes in bytes. */
export async function buildPlayground(outdir = DEFAULT_OUTDIR, o = { minify: true }) {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: { app: join(ROOT, 'playground', 'app.ts'), worker: join(ROOT, 'playground', 'worker.ts') },
    outdir,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify: o.minify,
    legalComments: 'linked',
    charset: 'utf8',
    logLevel: 'silent',
    metafile: true,
    plugins: [noNode, browserVariants, examples],
  });
  writeFileSync(join(outdir, 'licenses.txt'), licenses(result.metafile));
  copyFileSync(join(ROOT, 'playground', 'index.html'), join(outdir, 'index.html'));
  copyFileSync(join(ROOT, 'playground', 'playground.css'), join(outdir, 'playground.css'));
  writeFileSync(join(outdir, 'report.css'), await reportCss());
  const sizes = {};
  for (const f of readdirSync(outdir).sort()) sizes[f] = readFileSync(join(outdir, f)).length;
  return sizes;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const outdir = resolve(process.argv[2] ?? DEFAULT_OUTDIR);
  try {
    const sizes = await buildPlayground(outdir);
    for (const [f, n] of Object.entries(sizes)) console.log(`${String(n).padStart(9)}  ${f}`);
    console.log(`playground built in ${outdir}: open it through any static web server (workers need http)`);
  } catch (e) {
    for (const err of e.errors ?? []) {
      const at = err.location ? `${err.location.file}:${err.location.line}:${err.location.column}: ` : '';
      console.error(`${at}${err.text}`);
    }
    if (!e.errors) console.error(e);
    process.exit(1);
  }
}
