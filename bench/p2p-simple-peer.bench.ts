/**
 * The measurement behind "simple-peer or a raw RTCPeerConnection wrapper" (DESIGN §5): one page
 * to one page, 64 MiB, 64 KiB messages, in one Chromium, after a warm-up, best of alternating
 * rounds:
 *
 * - `datachannel-raw-1to1`: plain channel, 4 MiB high-water mark (what Backpact's wrapper does);
 * - `datachannel-raw-1to1-64k`: plain channel held to 64 KiB queued, as simple-peer holds itself;
 * - `simple-peer-stream`: simple-peer's own flow control (`write` / `drain`);
 * - `simple-peer-send`: simple-peer bypassed with `send` and a 4 MiB mark on `bufferSize`;
 * - `peer-link-1to1`: Backpact's bound, framed link.
 *
 * Then again (names suffixed `-busy`) with the sender's main thread blocked 8 ms out of every
 * 16 ms, as rendering and storage callbacks block it in the real app: a sender that keeps only
 * 64 KiB queued lets the channel run dry whenever its event loop is busy.
 */
import type { P2pHarness } from '../src/e2e-harness/p2p.ts';
import type { SimplePeerRunner } from './p2p-page/simple-peer.ts';
import { emit } from './lib.ts';
import { mbps, openBenchBrowser, round1 } from './p2p-browser.ts';

const MIB = Number(process.env.BENCH_P2P_MIB ?? 64);
const WARMUP_MIB = 16;
const ROUNDS = 3;

const setup = await openBenchBrowser(2);
try {
  const [a, b] = setup.pages as [NonNullable<(typeof setup.pages)[0]>, NonNullable<(typeof setup.pages)[0]>];

  // Plain channel.
  const offer = await a.evaluate(() => (globalThis.backpactHarness.p2p as P2pHarness).raw.offer('raw'));
  const answer = await b.evaluate((o) => (globalThis.backpactHarness.p2p as P2pHarness).raw.answer('raw', o), offer);
  await a.evaluate((x) => (globalThis.backpactHarness.p2p as P2pHarness).raw.complete('raw', x), answer);
  await b.evaluate(() => (globalThis.backpactHarness.p2p as P2pHarness).raw.waitOpen('raw'));

  // simple-peer.
  const spOffer = await a.evaluate(() => (globalThis.backpactHarness.simplePeer as SimplePeerRunner).offer('sp'));
  const spAnswer = await b.evaluate((o) => (globalThis.backpactHarness.simplePeer as SimplePeerRunner).answer('sp', o), spOffer);
  await a.evaluate((x) => (globalThis.backpactHarness.simplePeer as SimplePeerRunner).complete('sp', x), spAnswer);
  await b.evaluate(() => (globalThis.backpactHarness.simplePeer as SimplePeerRunner).waitConnected('sp'));

  // Backpact link.
  const wsUrl = setup.server.wsUrl;
  const ida = (await a.evaluate((u) => (globalThis.backpactHarness.p2p as P2pHarness).start({ wsUrl: u }), wsUrl)).id;
  const idb = (await b.evaluate((u) => (globalThis.backpactHarness.p2p as P2pHarness).start({ wsUrl: u }), wsUrl)).id;
  await a.evaluate((x) => (globalThis.backpactHarness.p2p as P2pHarness).addPartner(x), idb);
  await b.evaluate((x) => (globalThis.backpactHarness.p2p as P2pHarness).addPartner(x), ida);
  if (!(await a.evaluate((x) => (globalThis.backpactHarness.p2p as P2pHarness).waitForLink(x), idb))) throw new Error('link did not come up');

  const runs: Record<string, (mib: number) => Promise<{ bytes: number; ms: number }>> = {
    'datachannel-raw-1to1': (m) => a.evaluate((x) => (globalThis.backpactHarness.p2p as P2pHarness).raw.send(['raw'], x), m),
    'datachannel-raw-1to1-64k': (m) => a.evaluate((x) => (globalThis.backpactHarness.p2p as P2pHarness).raw.send(['raw'], x, { highWater: 64 * 1024, lowWater: 0 }), m),
    'simple-peer-stream': (m) => a.evaluate((x) => (globalThis.backpactHarness.simplePeer as SimplePeerRunner).send('sp', x, 'stream'), m),
    'simple-peer-send': (m) => a.evaluate((x) => (globalThis.backpactHarness.simplePeer as SimplePeerRunner).send('sp', x, 'send'), m),
    'peer-link-1to1': (m) => a.evaluate(([id, x]) => (globalThis.backpactHarness.p2p as P2pHarness).sendMany([id], x), [idb, m] as const),
  };
  for (const run of Object.values(runs)) await run(WARMUP_MIB);
  for (const busy of [false, true]) {
    await a.evaluate((on) => (globalThis.backpactHarness.p2p as P2pHarness).busy(on ? 8 : 0, 16), busy);
    const best = new Map<string, number>();
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, run] of Object.entries(runs)) {
        const res = await run(MIB);
        best.set(name, Math.max(best.get(name) ?? 0, mbps(res.bytes, res.ms)));
      }
    }
    const raw = best.get('datachannel-raw-1to1')!;
    for (const [name, value] of best) {
      emit({ bench: busy ? `${name}-busy` : name, value: round1(value), unit: 'MB/s', mib: MIB, vsRaw: Math.round((value / raw) * 100) / 100 });
    }
  }
  await a.evaluate(() => (globalThis.backpactHarness.p2p as P2pHarness).busy(0, 0));
} finally {
  await setup.close();
}
