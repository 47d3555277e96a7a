/**
 * Harness for peer links: puts `backpactHarness.p2p` on the page so end-to-end tests and
 * benchmarks can drive Backpact's real signaling client, WebRTC links and framed protocol with
 * `page.evaluate`. Also carries a plain-RTCDataChannel sender/receiver, the baseline the
 * `datachannel-raw` benchmark compares the framed protocol with.
 */
import type { SignalingId } from '../protocol/signaling.ts';
import { generateIdentity, signalingIdOf, type LinkIdentity } from '../p2p/identity.ts';
import { createInvite, decodeInvite, encodeInvite, inviteMailbox, openInviteReply, sealInviteReply } from '../p2p/invite.ts';
import type { OutgoingResponse, PeerLink, RequestHandler } from '../p2p/link.ts';
import { PeerNetwork } from '../p2p/network.ts';
import { SignalingClient } from '../p2p/signaling-client.ts';

const MiB = 1024 * 1024;

interface HarnessNode {
  identity: LinkIdentity;
  signaling: SignalingClient;
  network: PeerNetwork;
  /** Application requests this page served. */
  served: number;
  /** Link events, oldest first: `link:<id>`, `failed:<id>:<code>[:<reason>]`, `closed:<id>:<reason>`. */
  events: string[];
}

let node: HarnessNode | undefined;
let busyTimer: ReturnType<typeof setInterval> | undefined;

function hex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function sha256Hex(data: Uint8Array): Promise<string> {
  return hex(await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>));
}

/** Deterministic pseudo-random bytes (xorshift32), so each side can name what it sent. */
function pseudoRandom(bytes: number, seed: number): Uint8Array {
  const out = new Uint8Array(bytes);
  const words = new Uint32Array(out.buffer, 0, bytes >>> 2);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return out;
}

function* slices(data: Uint8Array, size: number): Generator<Uint8Array> {
  for (let o = 0; o < data.length; o += size) yield data.subarray(o, o + size);
}

function requireNode(): HarnessNode {
  if (!node) throw new Error('call p2p.start() first');
  return node;
}

const handler = (n: () => HarnessNode): RequestHandler => async (req): Promise<OutgoingResponse> => {
  n().served++;
  switch (req.message.type) {
    case 'harness.ping':
      return { message: { type: 'harness.pong' } };
    case 'harness.sink': {
      // Read everything; hash it when asked (the benchmark only counts).
      if (!req.body) return { message: { type: 'harness.sunk', bytes: 0, sha256: '' } };
      if (req.message.hash === true) {
        const data = await req.body.bytes(1024 * MiB);
        return { message: { type: 'harness.sunk', bytes: data.length, sha256: await sha256Hex(data) } };
      }
      let bytes = 0;
      for await (const chunk of req.body) bytes += chunk.length;
      return { message: { type: 'harness.sunk', bytes, sha256: '' } };
    }
    default:
      return { message: { type: 'harness.unknown' } };
  }
};

function linkTo(id: string): PeerLink {
  const link = requireNode().network.linkTo(id as SignalingId);
  if (!link) throw new Error(`no link to ${id}`);
  return link;
}

const p2p = {
  /**
   * Creates an identity, connects to the signaling server at `wsUrl` and starts the peer network.
   * `impostor`: links are bound with a *different* key than the signaling one, as a peer lying
   * about who it is would.
   */
  async start(opts: { wsUrl: string; impostor?: boolean }): Promise<{ id: string; device: string }> {
    node?.network.close();
    node?.signaling.close();
    const identity = await generateIdentity();
    const signaling = new SignalingClient({ url: opts.wsUrl, identity });
    const bindingIdentity = opts.impostor ? await generateIdentity() : identity;
    const network = new PeerNetwork({ signaling, identity: bindingIdentity, iceServers: [], handler: () => handler(requireNode) });
    const n: HarnessNode = { identity, signaling, network, served: 0, events: [] };
    network.on('link', ({ peer }) => n.events.push(`link:${peer.id}`));
    network.on('link-failed', ({ peer, error }) => {
      const e = error as { code?: string; reason?: string };
      n.events.push(`failed:${peer.id}:${e.code ?? 'error'}${e.reason ? `:${e.reason}` : ''}`);
    });
    network.on('link-closed', ({ peer, closed }) => n.events.push(`closed:${peer.id}:${closed.reason}`));
    node = n;
    const ready = new Promise<void>((resolve) => {
      const off = signaling.on('ready', () => {
        off();
        resolve();
      });
    });
    signaling.start();
    await ready;
    return { id: signaling.self.id, device: signaling.self.device };
  },

  /** Adds a partner by signaling id; links follow whenever it is online and subscribed back. */
  async addPartner(id: string): Promise<void> {
    await requireNode().network.addPartner(id as SignalingId);
  },

  /**
   * Makes an invite: opens its mailbox and, when a genuine reply arrives, takes the guest as a
   * partner bound in invite mode. Returns the text of the invite link's fragment.
   */
  async createInvite(): Promise<string> {
    const n = requireNode();
    const invite = createInvite(n.identity.publicKey);
    const box = inviteMailbox(invite.inviteId);
    const off = n.signaling.on('mailbox', (m) => {
      if (m.box !== box) return;
      off();
      try {
        const reply = openInviteReply(invite, m.data);
        n.events.push(`invite-reply:${signalingIdOf(reply.guestKey)}`);
        void n.network.addPartner(signalingIdOf(reply.guestKey), { inviteSecret: invite.secret });
      } catch (err) {
        n.events.push(`invite-refused:${(err as Error).message}`);
      }
    });
    await n.signaling.openMailbox(box);
    return encodeInvite(invite);
  },

  /** Accepts an invite: replies through its mailbox and takes the inviter as a partner. */
  async acceptInvite(text: string): Promise<string> {
    const n = requireNode();
    const invite = decodeInvite(text);
    const inviter = signalingIdOf(invite.inviterKey);
    await n.network.addPartner(inviter, { inviteSecret: invite.secret });
    await n.signaling.postMailbox(inviteMailbox(invite.inviteId), sealInviteReply(invite, n.identity.publicKey, n.signaling.self.device));
    return inviter;
  },

  /** Resolves true once a bound link to `id` exists (false on timeout). */
  async waitForLink(id: string, timeoutMs = 30_000): Promise<boolean> {
    return requireNode().network.waitForLink(id as SignalingId, timeoutMs).then(() => true, () => false);
  },

  /** Resolves with the first link event matching `prefix` (e.g. `failed:<id>`), or null on timeout. */
  async waitForEvent(prefix: string, timeoutMs = 30_000): Promise<string | null> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const hit = requireNode().events.find((e) => e.startsWith(prefix));
      if (hit) return hit;
      if (performance.now() > deadline) return null;
      await new Promise((r) => setTimeout(r, 25));
    }
  },

  events(): string[] {
    return [...requireNode().events];
  },

  /** Application requests this page has served (0 proves nothing got through). */
  served(): number {
    return requireNode().served;
  },

  linkCount(): number {
    return requireNode().network.links().length;
  },

  /** Round trip over the link to `id`. */
  async ping(id: string): Promise<string> {
    return (await linkTo(id).request({ type: 'harness.ping' })).message.type;
  },

  /**
   * Sends `mib` MiB of pseudo-random bytes (from `seed`) to `id`, which hashes what it received;
   * returns both hashes and the time taken.
   */
  async sendBlob(id: string, mib: number, seed: number): Promise<{ localSha: string; remoteSha: string; bytes: number; ms: number }> {
    const data = pseudoRandom(mib * MiB, seed);
    const localSha = await sha256Hex(data);
    const t0 = performance.now();
    const res = await linkTo(id).request({ type: 'harness.sink', hash: true }, { body: slices(data, MiB), timeoutMs: 300_000 });
    const ms = performance.now() - t0;
    return { localSha, remoteSha: String(res.message.sha256), bytes: Number(res.message.bytes), ms };
  },

  /** Sends `mib` MiB to each of `ids` at once (receivers only count); returns the wall time. */
  async sendMany(ids: string[], mib: number): Promise<{ bytes: number; ms: number }> {
    const data = pseudoRandom(mib * MiB, 7);
    const t0 = performance.now();
    const results = await Promise.all(ids.map((id) => linkTo(id).request({ type: 'harness.sink' }, { body: slices(data, MiB), timeoutMs: 600_000 })));
    const ms = performance.now() - t0;
    return { bytes: results.reduce((s, r) => s + Number(r.message.bytes), 0), ms };
  },

  /** Drops the connection to `id` as a network failure would (no close frame). */
  simulateNetworkLoss(id: string): void {
    for (const { peer } of requireNode().network.links()) if (peer.id === id) requireNode().network.simulateNetworkLoss(peer);
  },

  /**
   * Keeps the main thread busy for `busyMs` of every `periodMs` (0 stops), as rendering and
   * storage callbacks do in the real app: shows whether a sender's queue runs dry while its
   * event loop is blocked.
   */
  busy(busyMs: number, periodMs: number): void {
    clearInterval(busyTimer);
    if (busyMs <= 0) return;
    busyTimer = setInterval(() => {
      const end = performance.now() + busyMs;
      while (performance.now() < end) {
        // spin
      }
    }, periodMs);
  },

  stop(): void {
    node?.network.close();
    node?.signaling.close();
    node = undefined;
  },

  raw: rawChannels(),
  mitm: manInTheMiddle(),
};

/**
 * A man in the middle, for the test that plays a malicious signaling server: for each connection
 * attempt it answers the offerer with its own connection (pc1), offers the answerer another one
 * (pc2), and bridges the two data channels byte for byte. DTLS succeeds on both sides — each with
 * the middle's certificate — so only identity binding can notice. It records the kind byte of
 * every frame it forwards, to show that no application frame got through.
 */
function manInTheMiddle() {
  const attempts = new Map<string, { pc1: RTCPeerConnection; pc2: RTCPeerConnection }>();
  const kinds: number[] = [];

  const gathered = async (pc: RTCPeerConnection): Promise<string> => {
    if (pc.iceGatheringState !== 'complete') {
      await new Promise<void>((resolve) => pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve()));
    }
    return pc.localDescription!.sdp;
  };

  const open = (cid: string): { pc1: RTCPeerConnection; pc2: RTCPeerConnection } => {
    let a = attempts.get(cid);
    if (a) return a;
    const pc1 = new RTCPeerConnection({ iceServers: [] });
    const pc2 = new RTCPeerConnection({ iceServers: [] });
    const ch1 = pc1.createDataChannel('backpact', { negotiated: true, id: 0, ordered: true });
    const ch2 = pc2.createDataChannel('backpact', { negotiated: true, id: 0, ordered: true });
    const bridge = (from: RTCDataChannel, to: RTCDataChannel): void => {
      from.binaryType = 'arraybuffer';
      const queue: ArrayBuffer[] = [];
      to.addEventListener('open', () => {
        for (const m of queue.splice(0)) to.send(m);
      });
      from.onmessage = (e: MessageEvent) => {
        const m = e.data as ArrayBuffer;
        kinds.push(new Uint8Array(m)[1] ?? -1);
        if (to.readyState === 'open') to.send(m);
        else queue.push(m);
      };
      from.onclose = () => to.close();
    };
    bridge(ch1, ch2);
    bridge(ch2, ch1);
    a = { pc1, pc2 };
    attempts.set(cid, a);
    return a;
  };

  return {
    /** Answers the real offerer's offer with the middle's own connection; returns the answer. */
    async answerOffer(cid: string, sdp: string): Promise<string> {
      const { pc1 } = open(cid);
      await pc1.setRemoteDescription({ type: 'offer', sdp });
      await pc1.setLocalDescription(await pc1.createAnswer());
      return gathered(pc1);
    },
    /** Makes the offer the middle sends to the real answerer. */
    async makeOffer(cid: string): Promise<string> {
      const { pc2 } = open(cid);
      await pc2.setLocalDescription(await pc2.createOffer());
      return gathered(pc2);
    },
    async acceptAnswer(cid: string, sdp: string): Promise<void> {
      await open(cid).pc2.setRemoteDescription({ type: 'answer', sdp });
    },
    /** A trickled candidate of the real offerer (side 1) or answerer (side 2). */
    async addCandidate(cid: string, side: 1 | 2, candidate: RTCIceCandidateInit): Promise<void> {
      const a = open(cid);
      await (side === 1 ? a.pc1 : a.pc2).addIceCandidate(candidate).catch(() => undefined);
    },
    /** Kind bytes of the frames forwarded so far. */
    forwardedKinds(): number[] {
      return [...kinds];
    },
  };
}

/**
 * Plain `RTCDataChannel`s with the same message size and back-pressure as the link protocol but
 * no framing, binding or credit: the baseline for the framed protocol's overhead. Signals are
 * carried by the test (non-trickle: each description includes its candidates).
 */
function rawChannels() {
  const pcs = new Map<string, RTCPeerConnection>();
  const channels = new Map<string, RTCDataChannel>();
  const opened = new Map<string, Promise<void>>();

  const waitGathered = (pc: RTCPeerConnection): Promise<void> =>
    new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
    });

  const setup = (key: string): RTCPeerConnection => {
    const pc = new RTCPeerConnection({ iceServers: [] });
    const ch = pc.createDataChannel('raw', { negotiated: true, id: 0, ordered: true });
    ch.binaryType = 'arraybuffer';
    pcs.set(key, pc);
    channels.set(key, ch);
    opened.set(key, new Promise((resolve) => (ch.onopen = () => resolve())));
    // Receiver: the first (text) message announces the total; reply "done" when it all arrived.
    let expected = -1;
    let received = 0;
    ch.onmessage = (e: MessageEvent) => {
      if (typeof e.data === 'string') {
        const m = JSON.parse(e.data) as { total?: number; done?: boolean };
        if (m.total !== undefined) {
          expected = m.total;
          received = 0;
        }
        return;
      }
      received += (e.data as ArrayBuffer).byteLength;
      if (received === expected) ch.send(JSON.stringify({ done: true }));
    };
    return pc;
  };

  return {
    /** Offerer: returns the complete offer SDP. */
    async offer(key: string): Promise<string> {
      const pc = setup(key);
      await pc.setLocalDescription(await pc.createOffer());
      await waitGathered(pc);
      return pc.localDescription!.sdp;
    },
    /** Answerer: applies the offer, returns the complete answer SDP. */
    async answer(key: string, sdp: string): Promise<string> {
      const pc = setup(key);
      await pc.setRemoteDescription({ type: 'offer', sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      await waitGathered(pc);
      return pc.localDescription!.sdp;
    },
    /** Offerer: applies the answer and waits for the channel. */
    async complete(key: string, sdp: string): Promise<void> {
      await pcs.get(key)!.setRemoteDescription({ type: 'answer', sdp });
      await opened.get(key);
    },
    async waitOpen(key: string): Promise<void> {
      await opened.get(key);
    },
    /**
     * Sends `mib` MiB on each channel in `keys` at once, in `messageBytes` messages, waiting on
     * `bufferedamountlow` above `highWater`; resolves when every receiver confirmed.
     */
    async send(keys: string[], mib: number, opts: { messageBytes?: number; highWater?: number; lowWater?: number } = {}): Promise<{ bytes: number; ms: number }> {
      const size = opts.messageBytes ?? 64 * 1024 - 6;
      const high = opts.highWater ?? 4 * MiB;
      const low = opts.lowWater ?? MiB;
      const total = mib * MiB;
      const data = pseudoRandom(total, 7);
      const t0 = performance.now();
      await Promise.all(keys.map(async (key) => {
        const ch = channels.get(key)!;
        ch.bufferedAmountLowThreshold = low;
        const done = new Promise<void>((resolve) => {
          ch.addEventListener('message', (e) => typeof e.data === 'string' && (JSON.parse(e.data) as { done?: boolean }).done && resolve());
        });
        ch.send(JSON.stringify({ total }));
        for (let o = 0; o < total; o += size) {
          while (ch.bufferedAmount > high) await new Promise<void>((r) => ch.addEventListener('bufferedamountlow', () => r(), { once: true }));
          // A copy per message, as the link's framing makes one: keeps the comparison honest.
          const msg = new Uint8Array(Math.min(size, total - o));
          msg.set(data.subarray(o, o + msg.length));
          ch.send(msg);
        }
        await done;
      }));
      return { bytes: total * keys.length, ms: performance.now() - t0 };
    },
    close(): void {
      for (const pc of pcs.values()) pc.close();
      pcs.clear();
      channels.clear();
      opened.clear();
    },
  };
}

/** Puts `backpactHarness.p2p` on the page. */
export function installP2pHarness(): void {
  globalThis.backpactHarness.p2p = p2p;
}

/** Type of `backpactHarness.p2p`, for tests that want to type their `page.evaluate` calls. */
export type P2pHarness = typeof p2p;
