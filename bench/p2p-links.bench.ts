/**
 * Throughput from one page to 3 partner pages at once, in one Chromium (as in the e2e tests):
 *
 * - `datachannel-raw`: plain RTCDataChannels, 64 KiB messages, 4 MiB high-water mark — the
 *   ceiling for this machine;
 * - `peer-link`: Backpact's bound, framed protocol (requests with body streams, credit, back-
 *   pressure) over the same topology, with `vsRaw` = peer-link / datachannel-raw in this run.
 *
 * Each is measured after a warm-up (SCTP is several times slower on a fresh channel) and the
 * runs alternate, best of `ROUNDS`, because both share two cores with four renderers.
 */
import type { P2pHarness } from '../src/e2e-harness/p2p.ts';
import { emit } from './lib.ts';
import { mbps, openBenchBrowser, round1 } from './p2p-browser.ts';

const PARTNERS = 3;
const MIB_PER_PARTNER = Number(process.env.BENCH_P2P_MIB ?? 64);
const WARMUP_MIB = 16;
const ROUNDS = 2;

const setup = await openBenchBrowser(PARTNERS + 1);
try {
  const [sender, ...partners] = setup.pages;
  const s = sender!;

  // Plain data channels, signalled by the benchmark.
  const keys = partners.map((_, i) => `p${i}`);
  for (const [i, p] of partners.entries()) {
    const key = keys[i]!;
    const offer = await s.evaluate((k) => (globalThis.backpactHarness.p2p as P2pHarness).raw.offer(k), key);
    const answer = await p.evaluate(([k, o]) => (globalThis.backpactHarness.p2p as P2pHarness).raw.answer(k, o), [key, offer] as const);
    await s.evaluate(([k, a]) => (globalThis.backpactHarness.p2p as P2pHarness).raw.complete(k, a), [key, answer] as const);
    await p.evaluate((k) => (globalThis.backpactHarness.p2p as P2pHarness).raw.waitOpen(k), key);
  }
  const raw = (mib: number) => s.evaluate(([k, m]) => (globalThis.backpactHarness.p2p as P2pHarness).raw.send([...k], m), [keys, mib] as const);

  // Backpact links through the real signaling server.
  const wsUrl = setup.server.wsUrl;
  const senderId = (await s.evaluate((u) => (globalThis.backpactHarness.p2p as P2pHarness).start({ wsUrl: u }), wsUrl)).id;
  const ids: string[] = [];
  for (const p of partners) {
    const id = (await p.evaluate((u) => (globalThis.backpactHarness.p2p as P2pHarness).start({ wsUrl: u }), wsUrl)).id;
    ids.push(id);
    await p.evaluate((x) => (globalThis.backpactHarness.p2p as P2pHarness).addPartner(x), senderId);
    await s.evaluate((x) => (globalThis.backpactHarness.p2p as P2pHarness).addPartner(x), id);
  }
  for (const id of ids) {
    if (!(await s.evaluate((x) => (globalThis.backpactHarness.p2p as P2pHarness).waitForLink(x), id))) throw new Error('links did not come up');
  }
  const link = (mib: number) => s.evaluate(([i, m]) => (globalThis.backpactHarness.p2p as P2pHarness).sendMany([...i], m), [ids, mib] as const);

  await raw(WARMUP_MIB);
  await link(WARMUP_MIB);
  let bestRaw = 0;
  let bestLink = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const a = await raw(MIB_PER_PARTNER);
    bestRaw = Math.max(bestRaw, mbps(a.bytes, a.ms));
    const b = await link(MIB_PER_PARTNER);
    if (b.bytes !== PARTNERS * MIB_PER_PARTNER * 1024 * 1024) throw new Error(`peer-link delivered ${b.bytes} bytes`);
    bestLink = Math.max(bestLink, mbps(b.bytes, b.ms));
  }
  emit({ bench: 'datachannel-raw', value: round1(bestRaw), unit: 'MB/s', partners: PARTNERS, mibPerPartner: MIB_PER_PARTNER });
  emit({ bench: 'peer-link', value: round1(bestLink), unit: 'MB/s', partners: PARTNERS, mibPerPartner: MIB_PER_PARTNER, vsRaw: Math.round((bestLink / bestRaw) * 100) / 100 });
} finally {
  await setup.close();
}
