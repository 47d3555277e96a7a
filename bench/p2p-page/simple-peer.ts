/**
 * simple-peer (the maintained ESM fork) driven the way an application would use it, for the
 * measurement behind the "simple-peer or a raw RTCPeerConnection wrapper" decision (DESIGN §5).
 * Signals are carried by the benchmark (non-trickle).
 */
import Peer from '@thaunknown/simple-peer';

const MiB = 1024 * 1024;

interface Entry {
  peer: Peer;
  connected: Promise<void>;
  /** Receiver side: resolves with the byte count once `expect` bytes arrived. */
  received: { expected: number; count: number; done: (() => void) | null };
}

const peers = new Map<string, Entry>();

function create(key: string, initiator: boolean): { entry: Entry; firstSignal: Promise<unknown> } {
  const peer = new Peer({ initiator, trickle: false, config: { iceServers: [] } });
  const received: Entry['received'] = { expected: -1, count: 0, done: null };
  const entry: Entry = { peer, connected: new Promise((r) => peer.once('connect', () => r())), received };
  peer.on('error', () => undefined);
  peer.on('data', (d) => {
    // The first message announces the total (sent with `send`, so it is one message).
    if (received.expected < 0) {
      received.expected = Number(new TextDecoder().decode(d));
      received.count = 0;
      return;
    }
    received.count += d.length;
    if (received.count === received.expected) {
      received.expected = -1;
      peer.send('done');
    }
  });
  peers.set(key, entry);
  const firstSignal = new Promise<unknown>((r) => peer.on('signal', (s) => r(s)));
  return { entry, firstSignal };
}

const runner = {
  /** Offerer: resolves with its (complete) offer. */
  async offer(key: string): Promise<unknown> {
    return create(key, true).firstSignal;
  },
  /** Answerer: applies the offer, resolves with the answer. */
  async answer(key: string, offer: unknown): Promise<unknown> {
    const { entry, firstSignal } = create(key, false);
    entry.peer.signal(offer);
    return firstSignal;
  },
  async complete(key: string, answer: unknown): Promise<void> {
    const e = peers.get(key)!;
    e.peer.signal(answer);
    await e.connected;
  },
  async waitConnected(key: string): Promise<void> {
    await peers.get(key)!.connected;
  },
  /**
   * Sends `mib` MiB to the peer of `key` in 64 KiB chunks and resolves when the receiver confirms.
   * `mode: 'stream'` uses the library's own flow control (`write` / `drain`); `mode: 'send'`
   * bypasses it with `send` and a 4 MiB high-water mark on `bufferSize`, polled every 1 ms
   * (simple-peer exposes no `bufferedamountlow` event).
   */
  async send(key: string, mib: number, mode: 'stream' | 'send'): Promise<{ bytes: number; ms: number }> {
    const { peer } = peers.get(key)!;
    const total = mib * MiB;
    const chunk = 64 * 1024 - 6;
    const data = new Uint8Array(total);
    const done = new Promise<void>((resolve) => peer.on('data', (d) => d.length === 4 && new TextDecoder().decode(d) === 'done' && resolve()));
    const t0 = performance.now();
    peer.send(String(total));
    for (let o = 0; o < total; o += chunk) {
      const msg = data.slice(o, Math.min(total, o + chunk));
      if (mode === 'stream') {
        if (!peer.write(msg)) await new Promise<void>((r) => peer.once('drain', () => r()));
      } else {
        while (peer.bufferSize > 4 * MiB) await new Promise((r) => setTimeout(r, 1));
        peer.send(msg);
      }
    }
    await done;
    return { bytes: total, ms: performance.now() - t0 };
  },
  close(): void {
    for (const e of peers.values()) e.peer.destroy();
    peers.clear();
  },
};

/** Type of `backpactHarness.simplePeer`. */
export type SimplePeerRunner = typeof runner;

/** Puts `backpactHarness.simplePeer` on the page. */
export function installSimplePeerRunner(): void {
  globalThis.backpactHarness.simplePeer = runner;
}
