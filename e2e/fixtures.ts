/**
 * Playwright fixtures for Backpact's end-to-end tests.
 *
 * - `server` (one per worker): the real server process serving the built app and `/ws`.
 * - `openPeers(n, opts?)`: n isolated browser contexts — n separate "devices", each with its own
 *   IndexedDB, service worker and storage — each with a page at the app (or `opts.path`).
 *   Everything is closed when the test ends.
 * - `harnessPage`: one device at `/e2e-harness.html`, with `globalThis.backpactHarness.ready`.
 */
import { test as base, expect, type BrowserContext, type Page } from '@playwright/test';
import { deviceContextOptions } from './browser.ts';
import { startServerProcess, type ServerInfo } from './server.ts';

/** One simulated device. */
export interface Peer {
  context: BrowserContext;
  page: Page;
}

/** Options for {@link Fixtures.openPeers}. */
export interface OpenPeersOptions {
  /** Path (relative to the server URL) each page opens; default `/`. */
  path?: string;
  /** Viewport for every page, e.g. a phone's. */
  viewport?: { width: number; height: number };
}

/** A tuple of N elements when N is a literal, so `const [a, b] = await openPeers(2)` is typed. */
export type Tuple<T, N extends number, R extends T[] = []> = number extends N ? T[] : R['length'] extends N ? R : Tuple<T, N, [...R, T]>;

interface Fixtures {
  openPeers: <N extends number>(n: N, opts?: OpenPeersOptions) => Promise<Tuple<Peer, N>>;
  harnessPage: Page;
}

interface WorkerFixtures {
  server: ServerInfo;
}

export const test = base.extend<Fixtures, WorkerFixtures>({
  server: [
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      const server = await startServerProcess();
      await use(server.info);
      await server.stop();
    },
    { scope: 'worker' },
  ],

  openPeers: async ({ browser, server }, use) => {
    const contexts: BrowserContext[] = [];
    await use(async <N extends number>(n: N, opts: OpenPeersOptions = {}) => {
      const peers = await Promise.all(
        Array.from({ length: n }, async () => {
          const context = await browser.newContext({
            ...deviceContextOptions(),
            ...(opts.viewport ? { viewport: opts.viewport } : {}),
          });
          contexts.push(context);
          const page = await context.newPage();
          await page.goto(new URL(opts.path ?? '/', server.url).href);
          return { context, page };
        }),
      );
      return peers as Tuple<Peer, N>;
    });
    await Promise.all(contexts.map((c) => c.close()));
  },

  harnessPage: async ({ openPeers }, use) => {
    const [peer] = await openPeers(1, { path: '/e2e-harness.html' });
    await peer.page.waitForFunction(() => globalThis.backpactHarness?.ready === true);
    await use(peer.page);
  },
});

export { expect };
