#!/usr/bin/env node
// Runs every bench/*.bench.ts in its own Node process (V8 specialises a closure only while one
// instance exists, so configurations must not share a process), baselines first.
// Output: JSON lines on stdout, one per measurement. Progress and errors go to stderr.
// Usage: npm run bench [-- <substring filter>...]
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findChromium } from './chromium.mjs';
import { insideNetns, runInNetns } from './netns.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const filters = process.argv.slice(2);

// Browser benchmarks need Chromium and, for WebRTC between pages, the private network namespace.
if (!insideNetns() && process.env.BACKPACT_NETNS !== '0') {
  let chromium = process.env.CHROMIUM_PATH;
  try {
    chromium = findChromium();
  } catch (err) {
    process.stderr.write(`# ${err.message.split('\n')[0]} (browser benchmarks will fail)\n`);
  }
  const env = chromium ? { ...process.env, CHROMIUM_PATH: chromium } : process.env;
  process.exit(await runInNetns([process.execPath, fileURLToPath(import.meta.url), ...filters], env));
}
const files = readdirSync(join(root, 'bench'))
  .filter((f) => f.endsWith('.bench.ts'))
  .sort((a, b) => (a === 'baseline.bench.ts' ? -1 : b === 'baseline.bench.ts' ? 1 : a.localeCompare(b)))
  .filter((f) => f === 'baseline.bench.ts' || filters.length === 0 || filters.some((s) => f.includes(s)));

// Browser benchmarks load the built app (its harness page); build it so it matches the source.
if (process.env.BACKPACT_SKIP_BUILD !== '1') {
  const build = spawnSync(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'error'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

// The CPU benchmarks of src/core (and the baselines) run from an esbuild bundle, the form in which
// the app's code ships. Run through tsx's on-the-fly loader instead, the process also holds the
// loader's state and source maps: a heap of ~8 MiB instead of ~5, which V8 answered with 3-4 times
// as many full collections in the pipeline benchmark (DESIGN §4.14). The bundle sits at the same
// depth as bench/, so paths the benchmarks compute from their own location stay the same.
const BUNDLED = /^(baseline|core-).*\.bench\.ts$/;
const outDir = join(root, '.bench-build');
const bundled = files.filter((f) => BUNDLED.test(f));
if (bundled.length > 0) {
  const esbuild = spawnSync(
    join(root, 'node_modules/.bin/esbuild'),
    [...bundled.map((f) => join('bench', f)), '--bundle', '--platform=node', '--format=esm', '--target=node20', '--packages=external', `--outdir=${outDir}`, '--out-extension:.js=.mjs', '--log-level=warning'],
    { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (esbuild.status !== 0) process.exit(esbuild.status ?? 1);
}

let failed = 0;
for (const file of files) {
  process.stderr.write(`# bench ${file}\n`);
  const args = BUNDLED.test(file) ? ['--expose-gc', join(outDir, file.replace(/\.ts$/, '.mjs'))] : ['--import', 'tsx', '--expose-gc', join('bench', file)];
  const r = spawnSync(process.execPath, args, {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: process.env,
  });
  if (r.status !== 0) {
    failed++;
    process.stderr.write(`# bench ${file} failed with exit code ${r.status}\n`);
  }
}
process.exit(failed ? 1 : 0);
