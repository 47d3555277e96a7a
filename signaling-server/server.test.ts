/**
 * Socket tests of the signaling server: a real server on a free port, real WebSockets.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { toBase64Url } from '../src/protocol/encoding.ts';
import { CLOSE_CODES, SIGNALING_LIMITS, type MailboxId, type SignalingId, type ServerMessage } from '../src/protocol/signaling.ts';
import type { ServerConfig } from './config.ts';
import { MAILBOX_TTL_S, MAX_MAILBOXES_PER_ID, MAX_SUBSCRIPTIONS_PER_SOCKET, RATE_DROPS_BEFORE_CLOSE } from './constants.ts';
import { startServer, type RunningServer } from './server.ts';
import { TestClient, silentLogger, testConfig, testIdentity } from './testing.ts';

const running: RunningServer[] = [];
const clients: TestClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(running.splice(0).map((s) => s.close()));
});

/** A manual clock: `clock.now` is read by the server; tests advance `clock.t`. */
function manualClock(start = 1_700_000_000_000): { t: number; now: () => number } {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

async function serve(overrides: Partial<ServerConfig> = {}, clock?: { now: () => number }): Promise<RunningServer> {
  const s = await startServer(testConfig(overrides), silentLogger(), clock ? { clocks: { now: clock.now } } : {});
  running.push(s);
  return s;
}

async function connect(server: RunningServer, identity = testIdentity()): Promise<TestClient> {
  const c = await TestClient.connect(server.wsUrl, { identity });
  clients.push(c);
  return c;
}

async function open(server: RunningServer): Promise<TestClient> {
  const c = await TestClient.open(server.wsUrl);
  clients.push(c);
  return c;
}

let ridCounter = 1;
/** Sends `msg` with a fresh rid and resolves with the answer carrying it. */
async function call(c: TestClient, msg: Record<string, unknown>): Promise<ServerMessage> {
  const rid = ridCounter++;
  c.send({ ...msg, rid });
  return c.next((m) => 'rid' in m && m.rid === rid);
}

async function mutual(a: TestClient, b: TestClient): Promise<void> {
  expect(await call(a, { type: 'subscribe', ids: [b.identity.id] })).toMatchObject({ type: 'ack' });
  expect(await call(b, { type: 'subscribe', ids: [a.identity.id] })).toMatchObject({ type: 'ack' });
  await a.next((m) => m.type === 'presence' && m.online && m.peer.device === b.device);
  await b.next((m) => m.type === 'presence' && m.online && m.peer.device === a.device);
}

const box = (n: number): MailboxId => toBase64Url(new Uint8Array(32).fill(n)) as MailboxId;
const bytes64 = (n: number): string => toBase64Url(new Uint8Array(n).fill(7));

describe('authentication', () => {
  it('accepts a signature over the challenge and the host, and welcomes with id, device and limits', async () => {
    const server = await serve();
    const c = await open(server);
    expect(c.challenge).toMatchObject({ type: 'challenge', v: 1, versions: [1] });
    const welcome = await c.auth({ rid: 9 });
    expect(welcome).toMatchObject({ type: 'welcome', v: 1, id: c.identity.id, device: c.device, iceServers: [], rid: 9 });
    expect(welcome.limits).toMatchObject({ relayBytes: 16384, mailboxTtlS: MAILBOX_TTL_S });
  });

  it('refuses a signature by another key, with auth-failed and close 4401', async () => {
    const server = await serve();
    const c = await open(server);
    const msg = c.authMessage(new URL(server.wsUrl).host);
    msg.id = testIdentity().id;
    c.send(msg);
    expect(await c.next()).toMatchObject({ type: 'error', code: 'auth-failed' });
    expect((await c.closed).code).toBe(CLOSE_CODES.unauthenticated);
  });

  it('refuses a signature made for another server (domain separation by host)', async () => {
    const server = await serve();
    const c = await open(server);
    c.send(c.authMessage('evil.example:443'));
    expect(await c.next()).toMatchObject({ type: 'error', code: 'auth-failed' });
    expect((await c.closed).code).toBe(CLOSE_CODES.unauthenticated);
  });

  it('accepts the configured public host instead of the Host header', async () => {
    const server = await serve({ publicHosts: ['backup.example.org'] });
    const good = await open(server);
    await good.auth({ host: 'Backup.Example.org' });
    const bad = await open(server);
    bad.send(bad.authMessage(new URL(server.wsUrl).host));
    expect(await bad.next()).toMatchObject({ code: 'auth-failed' });
  });

  it('refuses the all-zero (small-order) key whose zero signature verifies any message', async () => {
    const server = await serve();
    const c = await open(server);
    c.send({ type: 'auth', v: 1, id: toBase64Url(new Uint8Array([1, ...new Array(31).fill(0)])), device: c.device, sig: toBase64Url(new Uint8Array([1, ...new Array(63).fill(0)])) });
    expect(await c.next()).toMatchObject({ type: 'error', code: 'auth-failed' });
    expect((await c.closed).code).toBe(CLOSE_CODES.unauthenticated);
  });

  it('answers anything before auth with an error and a close: a valid message, garbage, an unknown type', async () => {
    const server = await serve();
    for (const frame of [JSON.stringify({ type: 'subscribe', ids: [] }), '{not json', JSON.stringify({ type: 'hello' })]) {
      const c = await open(server);
      c.send(frame);
      const err = await c.next();
      expect(err.type).toBe('error');
      expect((await c.closed).code).toBe(CLOSE_CODES.unauthenticated);
    }
  });

  it('refuses an unsupported protocol version', async () => {
    const server = await serve();
    const c = await open(server);
    c.send({ ...c.authMessage(new URL(server.wsUrl).host), v: 2 });
    expect(await c.next()).toMatchObject({ type: 'error', code: 'unsupported-version' });
    expect((await c.closed).code).toBe(CLOSE_CODES.unauthenticated);
  });

  it('closes a socket that does not authenticate in time with 4408', async () => {
    const server = await serve({ authTimeoutMs: 150 });
    const c = await open(server);
    expect((await c.closed).code).toBe(CLOSE_CODES.authTimeout);
  });

  it('a second socket with the same id and device replaces the first (4409)', async () => {
    const server = await serve();
    const a = await connect(server);
    const again = await TestClient.open(server.wsUrl, { identity: a.identity });
    clients.push(again);
    again.device = a.device;
    await again.auth();
    expect((await a.closed).code).toBe(CLOSE_CODES.replaced);
    expect(server.signaling.gauges().authenticated).toBe(1);
  });

  it('refuses a second auth on an authenticated socket without closing it', async () => {
    const server = await serve();
    const c = await connect(server);
    expect(await call(c, c.authMessage(new URL(server.wsUrl).host))).toMatchObject({ type: 'error', code: 'bad-message' });
    expect(await call(c, { type: 'subscribe', ids: [] })).toMatchObject({ type: 'ack' });
  });
});

describe('presence', () => {
  it('is reported only for mutual subscriptions, both ways, and ends when either side leaves', async () => {
    const server = await serve();
    const a = await connect(server);
    const b = await connect(server);
    const c = await connect(server);
    // a watches b and c; c watches nobody: a hears nothing yet, and c never hears of a.
    expect(await call(a, { type: 'subscribe', ids: [b.identity.id, c.identity.id] })).toMatchObject({ type: 'ack' });
    expect(a.pending().filter((m) => m.type === 'presence')).toEqual([]);
    // b watches a back: both learn of each other.
    expect(await call(b, { type: 'subscribe', ids: [a.identity.id] })).toMatchObject({ type: 'ack' });
    expect(await a.next((m) => m.type === 'presence')).toEqual({ type: 'presence', peer: b.address, online: true });
    expect(await b.next((m) => m.type === 'presence')).toEqual({ type: 'presence', peer: a.address, online: true });
    // c subscribes to b only (b does not subscribe to c): neither learns of the other.
    expect(await call(c, { type: 'subscribe', ids: [b.identity.id] })).toMatchObject({ type: 'ack' });
    b.close();
    expect(await a.next((m) => m.type === 'presence')).toEqual({ type: 'presence', peer: b.address, online: false });
    // A round trip proves nothing more was queued for c.
    expect(await call(c, { type: 'subscribers' })).toMatchObject({ type: 'subscribers' });
    expect(c.pending().filter((m) => m.type === 'presence')).toEqual([]);
  });

  it('reports offline to both sides when one unsubscribes', async () => {
    const server = await serve();
    const a = await connect(server);
    const b = await connect(server);
    await mutual(a, b);
    expect(await call(a, { type: 'unsubscribe', ids: [b.identity.id] })).toMatchObject({ type: 'ack' });
    expect(await a.next((m) => m.type === 'presence')).toEqual({ type: 'presence', peer: b.address, online: false });
    expect(await b.next((m) => m.type === 'presence')).toEqual({ type: 'presence', peer: a.address, online: false });
  });

  it('tells a peer which online sessions subscribe to it (how a restored device finds partners)', async () => {
    const server = await serve();
    const restored = await connect(server);
    const p1 = await connect(server);
    const p2 = await connect(server);
    const stranger = await connect(server);
    await call(p1, { type: 'subscribe', ids: [restored.identity.id] });
    await call(p2, { type: 'subscribe', ids: [restored.identity.id] });
    await call(restored, { type: 'subscribe', ids: [stranger.identity.id] });
    const answer = await call(restored, { type: 'subscribers' });
    expect(answer.type).toBe('subscribers');
    if (answer.type !== 'subscribers') return;
    expect(answer.peers).toHaveLength(2);
    expect(answer.peers).toEqual(expect.arrayContaining([p1.address, p2.address]));
    // Being listed is the subscriber's choice: the stranger learns of `restored`, which
    // subscribed to it, and of nobody else.
    expect(await call(stranger, { type: 'subscribers' })).toMatchObject({ peers: [restored.address] });
    expect(await call(p1, { type: 'subscribers' })).toMatchObject({ peers: [] });
  });

  it('addresses several devices of one identity separately', async () => {
    const server = await serve();
    const identity = testIdentity();
    const d1 = await connect(server, identity);
    const d2 = await connect(server, identity);
    const b = await connect(server);
    await call(d1, { type: 'subscribe', ids: [b.identity.id] });
    await call(d2, { type: 'subscribe', ids: [b.identity.id] });
    await call(b, { type: 'subscribe', ids: [identity.id] });
    const seen = [await b.next((m) => m.type === 'presence'), await b.next((m) => m.type === 'presence')];
    expect(seen).toEqual(expect.arrayContaining([
      { type: 'presence', peer: d1.address, online: true },
      { type: 'presence', peer: d2.address, online: true },
    ]));
    expect(await call(b, { type: 'signal', to: d2.address, data: 'for d2' })).toMatchObject({ type: 'ack' });
    expect(await d2.next((m) => m.type === 'signal')).toEqual({ type: 'signal', from: b.address, data: 'for d2' });
    // Without a device, a relay reaches every mutual device.
    expect(await call(b, { type: 'relay', to: identity.id, data: bytes64(10) })).toMatchObject({ type: 'ack' });
    for (const d of [d1, d2]) expect(await d.next((m) => m.type === 'relay')).toMatchObject({ from: b.address, data: bytes64(10) });
    expect(d1.pending().filter((m) => m.type === 'signal')).toEqual([]);
  });

  it('refuses more subscriptions than the limit, all or nothing', async () => {
    const server = await serve();
    const a = await connect(server);
    for (let i = 0; i < MAX_SUBSCRIPTIONS_PER_SOCKET / 256; i++) {
      expect(await call(a, { type: 'subscribe', ids: Array.from({ length: 256 }, randomId) })).toMatchObject({ type: 'ack' });
    }
    expect(await call(a, { type: 'subscribe', ids: [randomId()] })).toMatchObject({ type: 'error', code: 'too-many-subscriptions' });
    // Re-subscribing to ids already held costs nothing.
    expect(await call(a, { type: 'subscribe', ids: [] })).toMatchObject({ type: 'ack' });
  });
});

function randomId(): SignalingId {
  return toBase64Url(randomBytes(32)) as SignalingId;
}

describe('routing', () => {
  it('forwards a signal byte for byte between mutual peers, and refuses others as unreachable', async () => {
    const server = await serve();
    const a = await connect(server);
    const b = await connect(server);
    const data = JSON.stringify({ sdp: 'v=0\r\na=fingerprint:sha-256 AB:CD', weird: '\u2028"\\' });
    expect(await call(a, { type: 'signal', to: b.address, data })).toMatchObject({ type: 'error', code: 'unreachable' });
    await mutual(a, b);
    expect(await call(a, { type: 'signal', to: b.address, data })).toMatchObject({ type: 'ack' });
    expect(await b.next((m) => m.type === 'signal')).toEqual({ type: 'signal', from: a.address, data });
    // Unknown device of a mutual peer: same answer as a stranger.
    expect(await call(a, { type: 'signal', to: { id: b.identity.id, device: toBase64Url(new Uint8Array(16)) }, data })).toMatchObject({ code: 'unreachable' });
  });

  it('relays messages up to 16 KiB between mutual peers only', async () => {
    const server = await serve();
    const a = await connect(server);
    const b = await connect(server);
    expect(await call(a, { type: 'relay', to: b.identity.id, data: bytes64(16) })).toMatchObject({ code: 'unreachable' });
    await mutual(a, b);
    const max = bytes64(SIGNALING_LIMITS.relayBytes);
    expect(await call(a, { type: 'relay', to: b.identity.id, data: max })).toMatchObject({ type: 'ack' });
    expect(await b.next((m) => m.type === 'relay')).toEqual({ type: 'relay', from: a.address, data: max });
    expect(await call(a, { type: 'relay', to: b.identity.id, data: bytes64(SIGNALING_LIMITS.relayBytes + 1) })).toMatchObject({ type: 'error', code: 'bad-message' });
  });

  it('rate-limits relays separately from other messages', async () => {
    const server = await serve({ relaysPerS: 1, relaysBurst: 3 });
    const a = await connect(server);
    const b = await connect(server);
    await mutual(a, b);
    for (let i = 0; i < 5; i++) a.send({ type: 'relay', to: b.identity.id, data: bytes64(8), rid: 500 + i });
    // Other messages still pass; once their answer is here, every relay answer is too.
    expect(await call(a, { type: 'signal', to: b.address, data: 'x' })).toMatchObject({ type: 'ack' });
    const answers = a.pending().filter((m) => 'rid' in m && m.rid !== undefined && m.rid >= 500 && m.rid < 505);
    // Three pass, the fourth is refused with a notice, the fifth is dropped silently (one notice per second).
    expect(answers).toEqual([
      { type: 'ack', rid: 500 },
      { type: 'ack', rid: 501 },
      { type: 'ack', rid: 502 },
      expect.objectContaining({ type: 'error', code: 'rate-limited', rid: 503 }),
    ]);
  });
});

describe('rate limiting', () => {
  it('drops messages beyond the token bucket and accepts again as it refills (injected clock)', async () => {
    const clock = manualClock();
    const server = await serve({ messagesPerS: 2, messagesBurst: 4 }, clock);
    const a = await connect(server); // auth took one token
    for (let i = 0; i < 6; i++) a.send({ type: 'subscribe', ids: [], rid: 1000 + i });
    const got = [];
    for (let i = 0; i < 4; i++) got.push(await a.next());
    expect(got.map((m) => m.type)).toEqual(['ack', 'ack', 'ack', 'error']);
    expect(got[3]).toMatchObject({ code: 'rate-limited' });
    clock.t += 1000; // two tokens
    expect(await call(a, { type: 'subscribe', ids: [] })).toMatchObject({ type: 'ack' });
    const metrics = await (await fetch(new URL('/metrics', server.url))).text();
    expect(metrics).toMatch(/backpact_drops_total\{reason="rate-limited"\} 3/);
  });

  it('closes a socket that keeps flooding after being limited (1008)', async () => {
    const server = await serve({ messagesPerS: 1, messagesBurst: 1 });
    const a = await connect(server);
    for (let i = 0; i <= RATE_DROPS_BEFORE_CLOSE + 1; i++) a.send('{}');
    expect((await a.closed).code).toBe(CLOSE_CODES.policy);
  });
});

describe('invite mailboxes', () => {
  it('delivers the one message to the online owner, then is gone', async () => {
    const clock = manualClock();
    const server = await serve({}, clock);
    const owner = await connect(server);
    const guest = await connect(server);
    const opened = await call(owner, { type: 'mailboxOpen', box: box(1) });
    expect(opened).toMatchObject({ type: 'mailboxOpened', box: box(1), expiresAt: clock.t + MAILBOX_TTL_S * 1000 });
    expect(await call(guest, { type: 'mailboxPost', box: box(1), data: bytes64(100) })).toMatchObject({ type: 'ack' });
    expect(await owner.next((m) => m.type === 'mailbox')).toEqual({ type: 'mailbox', box: box(1), from: guest.address, data: bytes64(100) });
    expect(await call(guest, { type: 'mailboxPost', box: box(1), data: bytes64(1) })).toMatchObject({ type: 'error', code: 'mailbox-not-found' });
  });

  it('holds the message while the owner is away and hands it over when the owner re-opens', async () => {
    const server = await serve();
    const identity = testIdentity();
    const owner = await connect(server, identity);
    await call(owner, { type: 'mailboxOpen', box: box(2), ttlS: 3600 });
    owner.close();
    await owner.closed;
    const guest = await connect(server);
    expect(await call(guest, { type: 'mailboxPost', box: box(2), data: bytes64(5) })).toMatchObject({ type: 'ack' });
    // Single use even before delivery.
    expect(await call(guest, { type: 'mailboxPost', box: box(2), data: bytes64(5) })).toMatchObject({ code: 'mailbox-not-found' });
    const back = await connect(server, identity);
    expect(await call(back, { type: 'mailboxOpen', box: box(2) })).toMatchObject({ type: 'mailboxOpened' });
    expect(await back.next((m) => m.type === 'mailbox')).toMatchObject({ from: guest.address, data: bytes64(5) });
  });

  it('expires after its lifetime (72 h by default; injected clock)', async () => {
    const clock = manualClock();
    const server = await serve({}, clock);
    const owner = await connect(server);
    const guest = await connect(server);
    await call(owner, { type: 'mailboxOpen', box: box(3) });
    await call(owner, { type: 'mailboxOpen', box: box(4), ttlS: 10 * MAILBOX_TTL_S });
    clock.t += MAILBOX_TTL_S * 1000 - 1;
    expect(await call(guest, { type: 'mailboxPost', box: box(3), data: bytes64(1) })).toMatchObject({ type: 'ack' });
    clock.t += 1;
    // A longer lifetime than the maximum was clamped to it.
    expect(await call(guest, { type: 'mailboxPost', box: box(4), data: bytes64(1) })).toMatchObject({ code: 'mailbox-not-found' });
    server.signaling.sweep();
    expect(server.signaling.gauges().mailboxes).toBe(0);
  });

  it('belongs to its opener: others cannot re-open or close it; the owner can close it', async () => {
    const server = await serve();
    const owner = await connect(server);
    const other = await connect(server);
    await call(owner, { type: 'mailboxOpen', box: box(5) });
    expect(await call(other, { type: 'mailboxOpen', box: box(5) })).toMatchObject({ code: 'mailbox-taken' });
    expect(await call(other, { type: 'mailboxClose', box: box(5) })).toMatchObject({ code: 'mailbox-not-found' });
    expect(await call(owner, { type: 'mailboxClose', box: box(5) })).toMatchObject({ type: 'ack' });
    expect(await call(other, { type: 'mailboxPost', box: box(5), data: '' })).toMatchObject({ code: 'mailbox-not-found' });
  });

  it('limits open mailboxes per identity', async () => {
    const server = await serve();
    const owner = await connect(server);
    for (let i = 0; i < MAX_MAILBOXES_PER_ID; i++) expect(await call(owner, { type: 'mailboxOpen', box: box(100 + i) })).toMatchObject({ type: 'mailboxOpened' });
    expect(await call(owner, { type: 'mailboxOpen', box: box(99) })).toMatchObject({ code: 'mailbox-limit' });
  });
});

describe('hardening', () => {
  it('closes a socket that sends an oversize frame with 1009 and keeps serving the others', async () => {
    const server = await serve();
    const a = await connect(server);
    const b = await connect(server);
    const big = await connect(server);
    await mutual(a, b);
    big.send('x'.repeat(64 * 1024 + 1));
    expect((await big.closed).code).toBe(1009);
    expect(await call(a, { type: 'signal', to: b.address, data: 'still here' })).toMatchObject({ type: 'ack' });
    expect(await b.next((m) => m.type === 'signal')).toMatchObject({ data: 'still here' });
  });

  it('closes on a binary frame with 1003', async () => {
    const server = await serve();
    const a = await connect(server);
    a.send(new Uint8Array([1, 2, 3]));
    expect((await a.closed).code).toBe(CLOSE_CODES.unsupportedData);
  });

  it('answers malformed and unknown messages from an authenticated peer with errors and stays open', async () => {
    const server = await serve();
    const a = await connect(server);
    a.send('{"rid": 5, "type": "subscribe", "ids": "nope"}');
    expect(await a.next()).toMatchObject({ type: 'error', code: 'bad-message', rid: 5 });
    a.send('[1,2]');
    expect(await a.next()).toMatchObject({ type: 'error', code: 'bad-message' });
    a.send('{"type":"teleport","rid":6}');
    expect(await a.next()).toMatchObject({ type: 'error', code: 'unknown-type', rid: 6 });
    a.send('{"type":"subscribers","__proto__":{"x":1}}');
    expect(await a.next()).toMatchObject({ type: 'error', code: 'bad-message' });
    expect(await call(a, { type: 'subscribers' })).toMatchObject({ type: 'subscribers' });
  });

  it('caps sockets per IP address, and frees the slot when one closes', async () => {
    const server = await serve({ maxConnectionsPerIp: 2 });
    const a = await open(server);
    await open(server);
    await expect(TestClient.open(server.wsUrl)).rejects.toThrow(/429/);
    a.close();
    await a.closed;
    // The server sees the close a moment after the client does: retry until the slot is free.
    await expect.poll(async () => TestClient.open(server.wsUrl).then((c) => (clients.push(c), 'ok'), () => 'refused')).toBe('ok');
  });

  it('refuses a browser Origin that is not allowed', async () => {
    const server = await serve({ allowedOrigins: ['https://backup.example.org'] });
    await expect(TestClient.open(server.wsUrl, { headers: { Origin: 'https://evil.example' } })).rejects.toThrow(/403/);
    const ok = await TestClient.open(server.wsUrl, { headers: { Origin: 'https://backup.example.org' } });
    clients.push(ok);
    const fallback = await serve();
    await expect(TestClient.open(fallback.wsUrl, { headers: { Origin: 'http://elsewhere:1' } })).rejects.toThrow(/403/);
  });

  it('drops a socket that stops answering pings, and keeps live ones', async () => {
    const server = await serve({ pingIntervalMs: 100 });
    const dead = await connect(server);
    const live = await connect(server);
    // The dead client's TCP socket stops reading: pings go unanswered.
    (dead.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await expect.poll(() => server.signaling.gauges().sockets, { timeout: 5_000 }).toBe(1);
    expect(await call(live, { type: 'subscribers' })).toMatchObject({ type: 'subscribers' });
  });

  it('stops cleanly, closing every socket with 1001', async () => {
    const server = await startServer(testConfig(), silentLogger());
    const a = await TestClient.connect(server.wsUrl);
    await server.close();
    expect((await a.closed).code).toBe(CLOSE_CODES.goingAway);
  });
});

describe('http endpoints', () => {
  it('/healthz and /metrics report sockets, messages, drops and errors', async () => {
    const server = await serve();
    const a = await connect(server);
    a.send('garbage');
    await a.next();
    const health = await (await fetch(new URL('/healthz', server.url))).json();
    expect(health).toMatchObject({ ok: true, sockets: 1, authenticated: 1 });
    const res = await fetch(new URL('/metrics', server.url));
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await res.text();
    expect(text).toContain('backpact_sockets{state="authenticated"} 1');
    expect(text).toContain('backpact_messages_total{type="auth"} 1');
    expect(text).toContain('backpact_errors_total{code="bad-json"} 1');
    expect(text).toMatch(/process_resident_memory_bytes \d+/);
  });

  it('/config is empty by default and hands out STUN and coturn-style TURN credentials when configured', async () => {
    const plain = await serve();
    expect(await (await fetch(new URL('/config', plain.url))).json()).toEqual({ iceServers: [] });

    const clock = manualClock(1_800_000_000_000);
    const server = await serve({ stunUrls: ['stun:stun.example.org:3478'], turnUrls: ['turn:turn.example.org:3478?transport=udp'], turnSecret: 's3cret', turnTtlS: 3600 }, clock);
    const id = testIdentity().id;
    const body = (await (await fetch(new URL(`/config?id=${id}`, server.url))).json()) as { iceServers: { urls: string[]; username?: string; credential?: string }[] };
    expect(body.iceServers[0]).toEqual({ urls: ['stun:stun.example.org:3478'] });
    const turn = body.iceServers[1]!;
    expect(turn.username).toBe(`${1_800_000_000 + 3600}:${id}`);
    expect(turn.credential).toBe(createHmac('sha1', 's3cret').update(turn.username!).digest('base64'));
    // The authenticated socket gets credentials naming its own id.
    const c = await TestClient.connect(server.wsUrl);
    clients.push(c);
    expect(c.welcome.iceServers[1]?.username).toBe(`${1_800_000_000 + 3600}:${c.identity.id}`);
  });

  it('still serves plain WebSocket upgrades only on /ws', async () => {
    const server = await serve();
    const ws = new WebSocket(server.wsUrl.replace('/ws', '/other'));
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => {});
    });
    expect(status).toBe(404);
  });
});
