#!/usr/bin/env node
// `npm run test:e2e [-- <playwright args>]`: finds (or installs) Chromium, builds the app, and runs
// the Playwright suite inside a private network namespace. The suite starts the real server itself.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findChromium } from './chromium.mjs';
import { runInNetns } from './netns.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);

let chromium;
try {
  chromium = findChromium();
} catch (err) {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}

if (process.env.BACKPACT_SKIP_BUILD !== '1') {
  const build = spawnSync(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const code = await runInNetns(
  [process.execPath, join(root, 'node_modules/@playwright/test/cli.js'), 'test', ...process.argv.slice(2)],
  { ...process.env, CHROMIUM_PATH: chromium },
);
process.exit(code);
