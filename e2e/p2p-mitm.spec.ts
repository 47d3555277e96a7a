/**
 * A malicious signaling server cannot sit in the middle of a peer link. The pages talk to the
 * real server through a WebSocket proxy in the test process, which plays the malicious server:
 *
 * 1. it rewrites the DTLS fingerprints in the relayed SDP — DTLS itself then fails;
 * 2. it goes further and routes each side's connection to a third page that terminates both
 *    DTLS connections with its own certificate and bridges the data channels byte for byte —
 *    DTLS succeeds on both sides, and only Backpact's identity binding can notice.
 *
 * Either way the link must fail before any application message is delivered.
 */
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { P2pHarness } from '../src/e2e-harness/p2p.ts';
import { expect, test } from './fixtures.ts';
import { device, HARNESS } from './helpers/harness-p2p.ts';

interface Address {
  id: string;
  device: string;
}

/** One client's pair of sockets through the proxy. */
interface ProxyConn {
  client: WebSocket;
  upstream: WebSocket;
  upstreamOpen: Promise<void>;
  address?: Address;
  /** Client messages are handled one at a time, in order, even when a hook awaits. */
  chain: Promise<void>;
}

/** What a hook does with a message from a client: forward it (maybe changed) or swallow it. */
type Hook = (conn: ProxyConn, msg: Record<string, unknown>, proxy: Proxy) => Promise<Record<string, unknown> | null>;

class Proxy {
  readonly conns = new Map<string, ProxyConn>();
  private wss!: WebSocketServer;
  wsUrl = '';

  constructor(
    private readonly upstreamUrl: string,
    private readonly hook: Hook,
  ) {}

  async start(): Promise<void> {
    this.wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws' });
    await new Promise<void>((r) => this.wss.once('listening', () => r()));
    const port = (this.wss.address() as { port: number }).port;
    this.wsUrl = `ws://127.0.0.1:${port}/ws`;
    this.wss.on('connection', (client) => {
      // The server checks the host the client signed against the Host header: a relaying server
      // passes its own host along, as any reverse proxy does.
      const upstream = new WebSocket(this.upstreamUrl, { headers: { host: `127.0.0.1:${port}` } });
      const conn: ProxyConn = { client, upstream, chain: Promise.resolve(), upstreamOpen: new Promise((r) => upstream.once('open', () => r())) };
      upstream.on('message', (data: RawData) => client.readyState === client.OPEN && client.send(String(data)));
      upstream.on('close', () => client.close());
      upstream.on('error', () => client.close());
      client.on('close', () => upstream.close());
      client.on('error', () => upstream.close());
      client.on('message', (data: RawData) => {
        conn.chain = conn.chain.then(() => this.fromClient(conn, String(data))).catch(() => client.close());
      });
    });
  }

  /** Sends a message to a client as if the server had sent it. */
  toClient(address: Address, msg: Record<string, unknown>): void {
    this.conns.get(`${address.id}/${address.device}`)?.client.send(JSON.stringify(msg));
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }

  private async fromClient(conn: ProxyConn, text: string): Promise<void> {
    await conn.upstreamOpen;
    const msg = JSON.parse(text) as Record<string, unknown>;
    if (msg.type === 'auth') {
      conn.address = { id: String(msg.id), device: String(msg.device) };
      this.conns.set(`${conn.address.id}/${conn.address.device}`, conn);
    }
    const out = await this.hook(conn, msg, this);
    if (out) conn.upstream.send(JSON.stringify(out));
    else if (typeof msg.rid === 'number') conn.client.send(JSON.stringify({ type: 'ack', rid: msg.rid }));
  }
}

interface PeerSignal {
  v: 1;
  cid: string;
  kind: 'offer' | 'answer' | 'candidate' | 'bye';
  sdp?: string;
  candidate?: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
}

test('a signaling server that rewrites the DTLS fingerprints in the SDP gets no link', async ({ openPeers, server }) => {
  let rewritten = 0;
  const proxy = new Proxy(server.wsUrl, async (_conn, msg) => {
    if (msg.type !== 'signal') return msg;
    const signal = JSON.parse(String(msg.data)) as PeerSignal;
    if (signal.sdp) {
      // Swap the certificate fingerprint for one the attacker would control.
      signal.sdp = signal.sdp.replace(/^(a=fingerprint:sha-256 )([0-9A-F:]+)/gm, (_m, p: string, fp: string) => {
        rewritten++;
        return p + fp.split(':').map((h) => (255 - parseInt(h, 16)).toString(16).padStart(2, '0').toUpperCase()).join(':');
      });
    }
    return { ...msg, data: JSON.stringify(signal) };
  });
  await proxy.start();
  try {
    const [pa, pb] = await openPeers(2, HARNESS);
    const a = device(pa.page);
    const b = device(pb.page);
    const [ida, idb] = await Promise.all([a.start(proxy.wsUrl), b.start(proxy.wsUrl)]);
    await a.addPartner(idb);
    await b.addPartner(ida);
    // Whoever offers sees the attempt fail in DTLS.
    const failures = await Promise.all([a.waitForEvent(`failed:${idb}`), b.waitForEvent(`failed:${ida}`)]);
    expect(failures.some((f) => f?.endsWith(':connect-failed'))).toBe(true);
    expect(rewritten).toBeGreaterThanOrEqual(2);
    expect(await a.state()).toEqual({ links: 0, served: 0, linked: [] });
    expect(await b.state()).toEqual({ links: 0, served: 0, linked: [] });
  } finally {
    await proxy.close();
  }
});

test('a man in the middle that terminates DTLS on both sides is caught by identity binding', async ({ openPeers, server }) => {
  const [pa, pb, pm] = await openPeers(3, HARNESS);
  const mitm = pm.page;
  await mitm.waitForFunction(() => globalThis.backpactHarness?.ready === true);
  const offerers = new Map<string, Address>();
  let intercepted = 0;

  const proxy = new Proxy(server.wsUrl, async (conn, msg, px) => {
    if (msg.type !== 'signal' || !conn.address) return msg;
    const from = conn.address;
    const to = msg.to as Address;
    const s = JSON.parse(String(msg.data)) as PeerSignal;
    intercepted++;
    const send = (target: Address, source: Address, signal: PeerSignal): void => px.toClient(target, { type: 'signal', from: source, data: JSON.stringify(signal) });
    switch (s.kind) {
      case 'offer': {
        offerers.set(s.cid, from);
        const answer = await mitm.evaluate(([cid, sdp]) => (globalThis.backpactHarness.p2p as P2pHarness).mitm.answerOffer(cid, sdp), [s.cid, s.sdp!] as const);
        send(from, to, { v: 1, cid: s.cid, kind: 'answer', sdp: answer });
        const offer = await mitm.evaluate((cid) => (globalThis.backpactHarness.p2p as P2pHarness).mitm.makeOffer(cid), s.cid);
        send(to, from, { v: 1, cid: s.cid, kind: 'offer', sdp: offer });
        return null;
      }
      case 'answer':
        await mitm.evaluate(([cid, sdp]) => (globalThis.backpactHarness.p2p as P2pHarness).mitm.acceptAnswer(cid, sdp), [s.cid, s.sdp!] as const);
        return null;
      case 'candidate': {
        const offerer = offerers.get(s.cid);
        const side: 1 | 2 = offerer && offerer.id === from.id && offerer.device === from.device ? 1 : 2;
        const candidate = { candidate: s.candidate!, sdpMid: s.sdpMid ?? null, sdpMLineIndex: s.sdpMLineIndex ?? null };
        await mitm.evaluate(([cid, sd, c]) => (globalThis.backpactHarness.p2p as P2pHarness).mitm.addCandidate(cid, sd, c), [s.cid, side, candidate] as const);
        return null;
      }
      default:
        return null;
    }
  });
  await proxy.start();
  try {
    const a = device(pa.page);
    const b = device(pb.page);
    const [ida, idb] = await Promise.all([a.start(proxy.wsUrl), b.start(proxy.wsUrl)]);
    await a.addPartner(idb);
    await b.addPartner(ida);
    const failures = await Promise.all([a.waitForEvent(`failed:${idb}`), b.waitForEvent(`failed:${ida}`)]);
    // Whoever checks the other's signature first refuses it; the other then sees the link close.
    expect(failures.some((f) => f?.endsWith(':binding-failed:bad-signature'))).toBe(true);
    expect(failures.every((f) => f !== null)).toBe(true);
    expect(await a.state()).toEqual({ links: 0, served: 0, linked: [] });
    expect(await b.state()).toEqual({ links: 0, served: 0, linked: [] });
    // DTLS did succeed through the middle (it forwarded binding frames), but nothing else:
    // hello (1), auth (2) and close (10) only — no request (3) or data (7).
    const kinds = await mitm.evaluate(() => (globalThis.backpactHarness.p2p as P2pHarness).mitm.forwardedKinds());
    expect(intercepted).toBeGreaterThan(0);
    expect(kinds).toContain(1);
    expect(kinds).toContain(2);
    expect(kinds.filter((k) => k !== 1 && k !== 2 && k !== 10)).toEqual([]);
  } finally {
    await proxy.close();
  }
});
