/**
 * Shared set-up of the browser benchmarks of peer links: builds the benchmark page
 * (bench/p2p-page: the real p2p harness plus a simple-peer runner), serves it from the real
 * server (which also does the signaling), and opens one Chromium with a context per device.
 * WebRTC between pages needs the private network namespace `npm run bench` enters.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from '@playwright/test';
import { build } from 'vite';
import { chromiumLaunchOptions, deviceContextOptions } from '../e2e/browser.ts';
import { startServer, type RunningServer } from '../signaling-server/server.ts';
import { silentLogger, testConfig } from '../signaling-server/testing.ts';

/** A running benchmark set-up. */
export interface BenchBrowser {
  server: RunningServer;
  browser: Browser;
  /** One page per device, each in its own browser context. */
  pages: Page[];
  close(): Promise<void>;
}

const PAGE_DIR = resolve(import.meta.dirname, 'p2p-page');

/** Builds the page, starts the server and opens `devices` pages. */
export async function openBenchBrowser(devices: number): Promise<BenchBrowser> {
  const outDir = await mkdtemp(join(tmpdir(), 'backpact-bench-page-'));
  await build({
    configFile: false,
    root: PAGE_DIR,
    logLevel: 'error',
    build: { outDir, emptyOutDir: true, target: 'es2022', rollupOptions: { input: join(PAGE_DIR, 'index.html') } },
  });
  const server = await startServer(testConfig({ staticDir: outDir }), silentLogger());
  const browser = await chromium.launch(chromiumLaunchOptions());
  const pages: Page[] = [];
  for (let i = 0; i < devices; i++) {
    const context = await browser.newContext(deviceContextOptions());
    const page = await context.newPage();
    page.on('pageerror', (err) => process.stderr.write(`# page ${i}: ${err.message}\n`));
    await page.goto(new URL('/index.html', server.url).href);
    await page.waitForFunction(() => globalThis.backpactHarness?.ready === true);
    pages.push(page);
  }
  return {
    server,
    browser,
    pages,
    async close() {
      await browser.close();
      await server.close();
      await rm(outDir, { recursive: true, force: true });
    },
  };
}

/** MB/s (10^6 bytes per second). */
export function mbps(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

/** Rounds to one decimal. */
export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
