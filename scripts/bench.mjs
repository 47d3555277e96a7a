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

let failed = 0;
for (const file of files) {
  process.stderr.write(`# bench ${file}\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', join('bench', file)], {
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
