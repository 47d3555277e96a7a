/**
 * Shared set-up of the end-to-end backup benchmarks: the built app served by the real server,
 * one Chromium with a context per device, an owner and its partners made through the real invite
 * UI (the e2e helpers), and the raw data-channel ceiling measured between the same number of
 * pages in the same run (the e2e harness page's plain `RTCDataChannel`s, as `datachannel-raw` in
 * bench/p2p-links.bench.ts), so results can be read as a ratio on this noisy machine.
 */
import { chromium, type Browser, type Page } from '@playwright/test';
import { chromiumLaunchOptions, deviceContextOptions } from '../e2e/browser.ts';
import type { Peer } from '../e2e/fixtures.ts';
import { ownerWithPartners } from '../e2e/helpers/backup.ts';
import { startServerProcess, type ServerProcess } from '../e2e/server.ts';
import type { P2pHarness } from '../src/e2e-harness/p2p.ts';
import { mbps } from './p2p-browser.ts';

/** A running set-up. */
export interface BackupBench {
  server: ServerProcess;
  browser: Browser;
  owner: Peer;
  partners: Peer[];
  /** The owner's recovery phrase. */
  phrase: string[];
  /** Opens one more device at the app. */
  device(): Promise<Peer>;
  close(): Promise<void>;
}

async function device(browser: Browser, url: string): Promise<Peer> {
  const context = await browser.newContext(deviceContextOptions());
  const page = await context.newPage();
  page.on('pageerror', (err) => process.stderr.write(`# page error: ${err.message}\n`));
  await page.goto(url);
  return { context, page };
}

/** Starts the server and browser and makes an owner with `names.length` partners. */
export async function openBackupBench(names: string[]): Promise<BackupBench> {
  const server = await startServerProcess();
  const browser = await chromium.launch(chromiumLaunchOptions());
  const owner = await device(browser, server.info.url);
  const partners: Peer[] = [];
  for (let i = 0; i < names.length; i++) partners.push(await device(browser, server.info.url));
  const phrase = await ownerWithPartners(owner, partners, names);
  return {
    server, browser, owner, partners, phrase,
    device: () => device(browser, server.info.url),
    async close() {
      await browser.close();
      await server.stop();
    },
  };
}

/**
 * MB/s of plain data channels between one page and `n` pages at once (`mib` MiB on each channel,
 * after a warm-up), in fresh contexts of the same browser. `send`: the one page sends to the `n`
 * (the direction of a backup); `receive`: the `n` send to the one page at once (the direction of a
 * restore). The ceiling an end-to-end backup or restore is read against.
 */
export async function rawChannelMBps(bench: BackupBench, n: number, mib: number, direction: 'send' | 'receive' = 'send'): Promise<number> {
  const url = new URL('/e2e-harness.html', bench.server.info.url).href;
  const pages: Page[] = [];
  for (let i = 0; i <= n; i++) {
    const d = await device(bench.browser, url);
    await d.page.waitForFunction(() => globalThis.backpactHarness?.ready === true);
    pages.push(d.page);
  }
  const [s, ...rs] = pages as [Page, ...Page[]];
  const keys = rs.map((_, i) => `raw${i}`);
  for (const [i, p] of rs.entries()) {
    const offer = await s.evaluate((k) => (globalThis.backpactHarness.p2p as P2pHarness).raw.offer(k), keys[i]!);
    const answer = await p.evaluate(([k, o]) => (globalThis.backpactHarness.p2p as P2pHarness).raw.answer(k, o), [keys[i]!, offer] as const);
    await s.evaluate(([k, a]) => (globalThis.backpactHarness.p2p as P2pHarness).raw.complete(k, a), [keys[i]!, answer] as const);
  }
  const send = (m: number) => s.evaluate(([k, x]) => (globalThis.backpactHarness.p2p as P2pHarness).raw.send([...k], x), [keys, m] as const);
  // Each of the n pages sends on its own channel at the same moment; the clock is this process's.
  const receive = async (m: number): Promise<{ bytes: number; ms: number }> => {
    const t0 = performance.now();
    const parts = await Promise.all(rs.map((p, i) => p.evaluate(([k, x]) => (globalThis.backpactHarness.p2p as P2pHarness).raw.send([k], x), [keys[i]!, m] as const)));
    return { bytes: parts.reduce((a, r) => a + r.bytes, 0), ms: performance.now() - t0 };
  };
  const run = direction === 'send' ? send : receive;
  await run(16);
  const r = await run(mib);
  for (const p of pages) await p.context().close();
  return mbps(r.bytes, r.ms);
}
