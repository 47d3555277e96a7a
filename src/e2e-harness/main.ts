/**
 * Entry point of `/e2e-harness.html`, a page that exposes Backpact's real modules (workers, peer
 * links) to end-to-end tests through `globalThis.backpactHarness`, so tests can drive them with
 * `page.evaluate` in real Chromium. It is not part of the precached app shell.
 */
const installers = import.meta.glob<{ [name: string]: unknown }>('./*.ts', { eager: true });

declare global {
  var backpactHarness: Record<string, unknown> & { ready?: boolean };
}

globalThis.backpactHarness = globalThis.backpactHarness ?? {};
for (const [path, mod] of Object.entries(installers)) {
  if (path === './main.ts') continue;
  for (const [name, fn] of Object.entries(mod)) {
    if (name.startsWith('install') && typeof fn === 'function') await (fn as () => unknown)();
  }
}
globalThis.backpactHarness.ready = true;
const status = document.getElementById('status');
if (status) status.textContent = 'ready';
