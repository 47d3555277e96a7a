/**
 * The signaling client against the real signaling server on a free port (Node, `ws` sockets).
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startServer, type RunningServer } from '../../signaling-server/server.ts';
import { silentLogger, testConfig } from '../../signaling-server/testing.ts';
import { toBase64Url } from '../protocol/encoding.ts';
import type { MailboxId } from '../protocol/signaling.ts';
import { SignalingError, SignalingUnavailableError } from './errors.ts';
import { identityFromSeed, signalingIdOf, type LinkIdentity } from './identity.ts';
import { SignalingClient, type SignalingEvents, type WebSocketLike } from './signaling-client.ts';

const servers: RunningServer[] = [];
const clients: SignalingClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(port = 0): Promise<RunningServer> {
  const s = await startServer(testConfig({ port }), silentLogger());
  servers.push(s);
  return s;
}

const createSocket = (url: string): WebSocketLike => new WebSocket(url) as unknown as WebSocketLike;

function client(server: RunningServer, identity: LinkIdentity = identityFromSeed(randomBytes(32)), extra: Partial<ConstructorParameters<typeof SignalingClient>[0]> = {}): SignalingClient {
  const c = new SignalingClient({ url: server.wsUrl, identity, createSocket, retry: { initialMs: 20, maxMs: 200 }, ...extra });
  clients.push(c);
  return c;
}

/** Resolves with the next `event` satisfying `match`. */
function next<K extends keyof SignalingEvents>(c: SignalingClient, event: K, match: (v: SignalingEvents[K]) => boolean = () => true): Promise<SignalingEvents[K]> {
  return new Promise((resolve) => {
    const off = c.on(event, (v) => {
      if (!match(v)) return;
      off();
      resolve(v);
    });
  });
}

async function ready(c: SignalingClient): Promise<void> {
  const r = next(c, 'ready');
  c.start();
  await r;
}

describe('SignalingClient', () => {
  it('authenticates with its identity key and device', async () => {
    const server = await serve();
    const id = identityFromSeed(randomBytes(32));
    const c = client(server, id);
    await ready(c);
    expect(c.state).toBe('ready');
    expect(c.self.id).toBe(signalingIdOf(id.publicKey));
    expect(c.welcome).toMatchObject({ id: c.self.id, device: c.self.device, iceServers: [] });
  });

  it('sees mutual partners come and go, and exchanges signals and relays with them', async () => {
    const server = await serve();
    const a = client(server);
    const b = client(server);
    await Promise.all([ready(a), ready(b)]);
    const seen = next(a, 'presence', (p) => p.online);
    await a.subscribe([b.self.id]);
    await b.subscribe([a.self.id]);
    expect((await seen).peer).toEqual(b.self);
    expect(a.isOnline(b.self)).toBe(true);

    const sig = next(b, 'signal');
    await a.signal(b.self, '{"hello":1}');
    expect(await sig).toEqual({ from: a.self, data: '{"hello":1}' });

    const rel = next(b, 'relay');
    const bytes = randomBytes(1000);
    await a.relay(b.self.id, bytes);
    expect(await rel).toEqual({ from: a.self, data: new Uint8Array(bytes) });

    await expect(a.signal({ id: a.self.id, device: b.self.device }, 'x')).rejects.toMatchObject({ serverCode: 'unreachable' });
    const gone = next(a, 'presence', (p) => !p.online);
    b.close();
    expect((await gone).peer).toEqual(b.self);
    expect(a.onlinePeers()).toEqual([]);
  });

  it('reconnects with back-off after the server restarts, restoring subscriptions and mailboxes', async () => {
    const first = await serve();
    const port = first.port;
    const a = client(first);
    const b = client(first);
    await Promise.all([ready(a), ready(b)]);
    await a.subscribe([b.self.id]);
    await b.subscribe([a.self.id]);
    const box = toBase64Url(randomBytes(32)) as MailboxId;
    await a.openMailbox(box);

    const dropped = next(a, 'presence', (p) => !p.online);
    const waiting = next(a, 'state', (s) => s === 'waiting');
    await first.close();
    servers.splice(servers.indexOf(first), 1);
    await waiting;
    await dropped;
    await expect(a.subscribers()).rejects.toBeInstanceOf(SignalingUnavailableError);

    const back = next(a, 'presence', (p) => p.online);
    const second = await serve(port);
    expect(await back).toEqual({ peer: b.self, online: true });
    // The mailbox was re-opened on the new server: a guest can post to it.
    const guest = client(second);
    await ready(guest);
    const delivered = next(a, 'mailbox');
    await guest.postMailbox(box, new Uint8Array([1, 2, 3]));
    expect(await delivered).toEqual({ box, from: guest.self, data: new Uint8Array([1, 2, 3]) });
  });

  it('lists itself in the open pool, queries it, sends and receives introductions, and re-lists after a reconnect', async () => {
    const first = await serve();
    const port = first.port;
    const a = client(first);
    const b = client(first);
    await Promise.all([ready(a), ready(b)]);
    await expect(a.poolQuery()).rejects.toMatchObject({ serverCode: 'not-listed' });
    await a.poolList({ offeredBytes: 5e9, balanceBytes: 0, name: 'Ann' });
    await b.poolList({ offeredBytes: 2e9, balanceBytes: -1, name: 'Ben' });
    expect((await a.poolQuery()).peers).toEqual([expect.objectContaining({ id: b.self.id, name: 'Ben', offeredBytes: 2e9, balanceBytes: -1 })]);
    const intro = next(b, 'poolHello');
    await a.poolHello(b.self.id, new Uint8Array([4, 5, 6]));
    expect(await intro).toEqual({ from: a.self, data: new Uint8Array([4, 5, 6]) });
    await expect(a.poolHello(b.self.id, new Uint8Array(4097))).rejects.toBeInstanceOf(RangeError);

    // The server restarts: both listings come back with the reconnect.
    const waiting = next(a, 'state', (s) => s === 'waiting');
    await first.close();
    servers.splice(servers.indexOf(first), 1);
    await waiting;
    const readyAgain = Promise.all([next(a, 'ready'), next(b, 'ready')]);
    await serve(port);
    await readyAgain;
    expect((await a.poolQuery()).peers.map((p) => p.name)).toEqual(['Ben']);
    await b.poolUnlist();
    expect(b.poolListing).toBeNull();
    expect((await a.poolQuery()).peers).toEqual([]);
  });

  it('lists the instances that subscribe to it', async () => {
    const server = await serve();
    const restored = client(server);
    const partner = client(server);
    await Promise.all([ready(restored), ready(partner)]);
    await partner.subscribe([restored.self.id]);
    expect(await restored.subscribers()).toEqual([partner.self]);
  });

  it('stops for good when another instance takes over its device id', async () => {
    const server = await serve();
    const id = identityFromSeed(randomBytes(32));
    const a = client(server, id);
    await ready(a);
    const b = client(server, id, { device: a.self.device });
    const closed = next(a, 'state', (s) => s === 'closed');
    await ready(b);
    await closed;
    expect(b.state).toBe('ready');
  });

  it('reports server refusals as SignalingError and fails requests after close', async () => {
    const server = await serve();
    const a = client(server);
    await ready(a);
    await expect(a.postMailbox(toBase64Url(randomBytes(32)) as MailboxId, new Uint8Array(1))).rejects.toBeInstanceOf(SignalingError);
    a.close();
    expect(a.state).toBe('closed');
    await expect(a.subscribers()).rejects.toBeInstanceOf(SignalingUnavailableError);
  });
});
