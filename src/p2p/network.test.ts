/**
 * The peer network's logic — roles, binding, reconnects, removal — in Node: real signaling
 * server and clients, real links, and connection attempts that pair up over in-memory transports
 * instead of WebRTC (the WebRTC path itself is covered by the Chromium e2e tests).
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startServer, type RunningServer } from '../../signaling-server/server.ts';
import { silentLogger, testConfig } from '../../signaling-server/testing.ts';
import { BindingError } from './errors.ts';
import { identityFromSeed, type LinkIdentity } from './identity.ts';
import type { LinkTransport } from './link.ts';
import { PeerNetwork, type ConnectionAttempt, type PeerNetworkEvents } from './network.ts';
import type { RtcAttemptOptions } from './rtc.ts';
import { SignalingClient, type WebSocketLike } from './signaling-client.ts';
import type { PeerSignal } from './signals.ts';
import { memoryTransportPair, type MemoryTransport } from './testing/memory-transport.ts';

/** Attempts that meet by connection id and connect over an in-memory transport pair. */
class FakeRtc {
  readonly offers = new Map<string, FakeAttempt>();
  attempts = 0;
  create = (opts: RtcAttemptOptions): ConnectionAttempt => {
    this.attempts++;
    return new FakeAttempt(this, opts);
  };
}

class FakeAttempt implements ConnectionAttempt {
  readonly cid: string;
  readonly open: Promise<LinkTransport>;
  transport: MemoryTransport | null = null;
  private settle!: { resolve(t: LinkTransport): void; reject(e: unknown): void };

  constructor(
    private readonly rtc: FakeRtc,
    private readonly opts: RtcAttemptOptions,
  ) {
    this.cid = opts.cid;
    this.open = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.open.catch(() => undefined);
    if (opts.initiator) {
      rtc.offers.set(this.cid, this);
      opts.send({ v: 1, cid: this.cid, kind: 'offer', sdp: 'fake' });
    }
  }

  async handleSignal(signal: PeerSignal): Promise<void> {
    if (signal.kind !== 'offer' || this.opts.initiator) return;
    const offerer = this.rtc.offers.get(signal.cid);
    if (!offerer) return;
    this.rtc.offers.delete(signal.cid);
    const [a, b] = memoryTransportPair();
    offerer.transport = a;
    this.transport = b;
    offerer.settle.resolve(a);
    this.settle.resolve(b);
  }

  close(): void {
    this.settle.reject(new Error('closed'));
    this.transport?.kill();
  }
}

const servers: RunningServer[] = [];
const closers: (() => void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) c();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

interface Node {
  identity: LinkIdentity;
  signaling: SignalingClient;
  network: PeerNetwork;
}

async function node(server: RunningServer, rtc: FakeRtc, opts: { bindingIdentity?: LinkIdentity } = {}): Promise<Node> {
  const identity = identityFromSeed(randomBytes(32));
  const signaling = new SignalingClient({ url: server.wsUrl, identity, createSocket: (u) => new WebSocket(u) as unknown as WebSocketLike, retry: { initialMs: 20, maxMs: 100 } });
  const network = new PeerNetwork({
    signaling,
    identity: opts.bindingIdentity ?? identity,
    createAttempt: rtc.create,
    retry: { initialMs: 10, maxMs: 50 },
    handler: () => (req) => ({ message: { type: 'pong', to: req.message.type } }),
  });
  closers.push(() => network.close(), () => signaling.close());
  const ready = new Promise((r) => signaling.on('ready', r));
  signaling.start();
  await ready;
  return { identity, signaling, network };
}

function next<K extends keyof PeerNetworkEvents>(n: PeerNetwork, event: K): Promise<PeerNetworkEvents[K]> {
  return new Promise((resolve) => {
    const off = n.on(event, (v) => {
      off();
      resolve(v);
    });
  });
}

describe('PeerNetwork', () => {
  it('links two partners once both are online, with exactly one offer', async () => {
    const server = await startServer(testConfig(), silentLogger());
    servers.push(server);
    const rtc = new FakeRtc();
    const a = await node(server, rtc);
    const b = await node(server, rtc);
    await a.network.addPartner(b.signaling.self.id);
    await b.network.addPartner(a.signaling.self.id);
    const [la, lb] = await Promise.all([a.network.waitForLink(b.signaling.self.id), b.network.waitForLink(a.signaling.self.id)]);
    expect(rtc.attempts).toBe(2); // one offering attempt, one answering
    expect(await la.request({ type: 'ping' })).toMatchObject({ message: { type: 'pong', to: 'ping' } });
    expect(await lb.request({ type: 'ping2' })).toMatchObject({ message: { type: 'pong', to: 'ping2' } });
  });

  it('reconnects by itself after the connection is lost while both stay online', async () => {
    const server = await startServer(testConfig(), silentLogger());
    servers.push(server);
    const rtc = new FakeRtc();
    const a = await node(server, rtc);
    const b = await node(server, rtc);
    await a.network.addPartner(b.signaling.self.id);
    await b.network.addPartner(a.signaling.self.id);
    const first = await a.network.waitForLink(b.signaling.self.id);
    await b.network.waitForLink(a.signaling.self.id);

    const closedA = next(a.network, 'link-closed');
    const closedB = next(b.network, 'link-closed');
    const relinkA = next(a.network, 'link');
    const relinkB = next(b.network, 'link');
    a.network.simulateNetworkLoss(b.signaling.self);
    expect((await closedA).closed.reason).toBe('transport');
    expect((await closedB).closed.reason).toBe('transport');
    const second = (await relinkA).link;
    await relinkB;
    expect(second).not.toBe(first);
    expect(await second.request({ type: 'again' })).toMatchObject({ message: { type: 'pong' } });
  });

  it('refuses a partner whose link presents another identity, and keeps retrying with back-off', async () => {
    const server = await startServer(testConfig(), silentLogger());
    servers.push(server);
    const rtc = new FakeRtc();
    const a = await node(server, rtc);
    const impostor = await node(server, rtc, { bindingIdentity: identityFromSeed(randomBytes(32)) });
    let linked = false;
    a.network.on('link', () => (linked = true));
    const failures: unknown[] = [];
    const twoFailures = new Promise<void>((resolve) => a.network.on('link-failed', ({ error }) => {
      failures.push(error);
      if (failures.length === 2) resolve();
    }));
    await a.network.addPartner(impostor.signaling.self.id);
    await impostor.network.addPartner(a.signaling.self.id);
    await twoFailures;
    expect(failures[0]).toBeInstanceOf(BindingError);
    expect(failures[0]).toMatchObject({ reason: 'identity-mismatch' });
    expect(linked).toBe(false);
  });

  it('closes links to a removed partner and does not reconnect', async () => {
    const server = await startServer(testConfig(), silentLogger());
    servers.push(server);
    const rtc = new FakeRtc();
    const a = await node(server, rtc);
    const b = await node(server, rtc);
    await a.network.addPartner(b.signaling.self.id);
    await b.network.addPartner(a.signaling.self.id);
    await Promise.all([a.network.waitForLink(b.signaling.self.id), b.network.waitForLink(a.signaling.self.id)]);
    const closed = next(b.network, 'link-closed');
    await a.network.removePartner(b.signaling.self.id);
    expect((await closed).closed).toMatchObject({ reason: 'remote', remoteCode: 'removed' });
    const attempts = rtc.attempts;
    // A round trip through the server: any reconnect would have been signalled by now.
    await b.signaling.subscribers();
    expect(rtc.attempts).toBe(attempts);
    expect(a.network.links()).toEqual([]);
  });
});
