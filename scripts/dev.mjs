#!/usr/bin/env node
// `npm run dev`: the signaling server on port 8788 (no static files) beside Vite's dev server with
// hot reload, which proxies /ws, /healthz and /config to it (see vite.config.ts). Ctrl-C stops both.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const server = spawn(process.execPath, ['--import', 'tsx', '--watch', join(root, 'signaling-server/main.ts')], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PORT: '8788', STATIC_DIR: '', LOG_LEVEL: process.env.LOG_LEVEL ?? 'debug' },
});
const vite = spawn(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
const children = [server, vite];
let stopping = false;
function stop(code) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGINT');
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null))).then(() => process.exit(code));
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
for (const c of children) c.on('exit', (code) => stop(code ?? 0));
