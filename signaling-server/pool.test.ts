/**
 * The open pool on a real server (free port, real sockets): listing, query, observed uptime
 * (injected clock), network tokens, introductions only to listed peers, and limits.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { toBase64Url } from '../src/protocol/encoding.ts';
import { SIGNALING_LIMITS, type PoolAnswerMessage, type ServerMessage } from '../src/protocol/signaling.ts';
import { clientIp, startServer, type RunningServer } from './server.ts';
import type { ServerConfig } from './config.ts';
import { networkPrefix, networkToken, UptimeTracker } from './pool.ts';
import { TestClient, silentLogger, testConfig, testIdentity, type TestIdentity } from './testing.ts';

const running: RunningServer[] = [];
const clients: TestClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(running.splice(0).map((s) => s.close()));
});

const HOUR = 3600_000;
const DAY = 24 * HOUR;

function manualClock(start = 1_700_000_000_000): { t: number; now: () => number } {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

async function serve(overrides: Partial<ServerConfig> = {}, clock?: { now: () => number }): Promise<RunningServer> {
  const s = await startServer(testConfig(overrides), silentLogger(), clock ? { clocks: { now: clock.now, monotonic: () => performance.now() } } : {});
  running.push(s);
  return s;
}

async function connect(server: RunningServer, opts: { identity?: TestIdentity; ip?: string } = {}): Promise<TestClient> {
  const c = await TestClient.open(server.wsUrl, { ...(opts.identity ? { identity: opts.identity } : {}), ...(opts.ip ? { headers: { 'X-Forwarded-For': opts.ip } } : {}) });
  clients.push(c);
  await c.auth();
  return c;
}

let ridCounter = 1;
async function call(c: TestClient, msg: Record<string, unknown>): Promise<ServerMessage> {
  const rid = ridCounter++;
  c.send({ ...msg, rid });
  return c.next((m) => 'rid' in m && m.rid === rid);
}

async function list(c: TestClient, offeredBytes: number, name = 'Peer', balanceBytes = 0): Promise<void> {
  expect(await call(c, { type: 'poolList', offeredBytes, balanceBytes, name })).toEqual(expect.objectContaining({ type: 'ack' }));
}

async function query(c: TestClient): Promise<PoolAnswerMessage> {
  const m = await call(c, { type: 'poolQuery' });
  if (m.type !== 'pool') throw new Error(`expected pool, got ${JSON.stringify(m)}`);
  return m;
}

const hello = (n: number): string => toBase64Url(new Uint8Array(n).fill(9));

describe('open pool listing', () => {
  it('lists peers with their offer, balance and name; a query shows everyone but the asker', async () => {
    const server = await serve();
    const a = await connect(server);
    const b = await connect(server);
    const c = await connect(server);
    await list(a, 5e9, 'Ann');
    await list(b, 20e9, 'Ben', -1e9);
    await list(c, 1e9, 'Cat');
    const answer = await query(a);
    expect(answer.peers.map((p) => p.id).sort()).toEqual([b.identity.id, c.identity.id].sort());
    expect(answer.peers.find((p) => p.id === b.identity.id)).toMatchObject({ name: 'Ben', offeredBytes: 20e9, balanceBytes: -1e9, uptime7d: 1 });
    expect(answer.peers.every((p) => /^[A-Za-z0-9_-]{8}$/.test(p.networkToken))).toBe(true);
    // Re-listing updates in place.
    await list(b, 50e9, 'Ben');
    expect((await query(a)).peers.find((p) => p.id === b.identity.id)).toMatchObject({ offeredBytes: 50e9, balanceBytes: 0 });
    expect((await fetch(new URL('/metrics', server.url)).then((r) => r.text()))).toContain('backpact_pool_listings 3');
  });

  it('ends a listing on unlist and when the socket that made it closes; the client re-lists after a reconnect', async () => {
    const server = await serve();
    const a = await connect(server);
    const b = await connect(server);
    const c = await connect(server);
    await list(a, 5e9);
    await list(b, 5e9);
    await list(c, 5e9);
    expect(await call(b, { type: 'poolUnlist' })).toMatchObject({ type: 'ack' });
    c.close();
    await c.closed;
    await expect.poll(async () => (await query(a)).peers.map((p) => p.id)).toEqual([]);
    // Another device of the same identity does not keep a listing it did not make.
    const identity = testIdentity();
    const d1 = await connect(server, { identity });
    const d2 = await connect(server, { identity });
    await list(d1, 5e9, 'Dee');
    d1.close();
    await d1.closed;
    await expect.poll(async () => (await query(a)).peers.length).toBe(0);
    await list(d2, 5e9, 'Dee');
    expect((await query(a)).peers.map((p) => p.name)).toEqual(['Dee']);
  });

  it('lets only listed peers query the pool', async () => {
    const server = await serve();
    const a = await connect(server);
    const b = await connect(server);
    await list(b, 5e9);
    expect(await call(a, { type: 'poolQuery' })).toMatchObject({ type: 'error', code: 'not-listed' });
    await list(a, 5e9);
    expect((await query(a)).peers).toHaveLength(1);
  });

  it('refuses malformed listings with bad-message and keeps the socket', async () => {
    const server = await serve();
    const a = await connect(server);
    for (const bad of [
      { offeredBytes: -1, balanceBytes: 0, name: 'x' },
      { offeredBytes: 1.5, balanceBytes: 0, name: 'x' },
      { offeredBytes: SIGNALING_LIMITS.poolMaxBytes + 1, balanceBytes: 0, name: 'x' },
      { offeredBytes: 1, balanceBytes: -SIGNALING_LIMITS.poolMaxBytes - 1, name: 'x' },
      { offeredBytes: 1, balanceBytes: 0, name: '' },
      { offeredBytes: 1, balanceBytes: 0, name: 'x'.repeat(65) },
      { offeredBytes: 1, balanceBytes: 0, name: 'bad\nname' },
      { offeredBytes: 1, balanceBytes: 0, name: 'x', extra: true },
      { offeredBytes: '1', balanceBytes: 0, name: 'x' },
    ]) {
      expect(await call(a, { type: 'poolList', ...bad })).toMatchObject({ type: 'error', code: 'bad-message' });
    }
    expect(await call(a, { type: 'poolQuery' })).toMatchObject({ code: 'not-listed' });
  });

  it('answers with a random sample of at most 100 listings', async () => {
    const server = await serve({ maxConnectionsPerIp: 200 });
    const asker = await connect(server);
    await list(asker, 1e9);
    const others = await Promise.all(Array.from({ length: SIGNALING_LIMITS.poolPeersPerAnswer + 5 }, () => connect(server)));
    await Promise.all(others.map((o, i) => list(o, 1e9, `P${i}`)));
    const answer = await query(asker);
    expect(answer.peers).toHaveLength(SIGNALING_LIMITS.poolPeersPerAnswer);
    expect(new Set(answer.peers.map((p) => p.id)).size).toBe(SIGNALING_LIMITS.poolPeersPerAnswer);
    expect(answer.peers.some((p) => p.id === asker.identity.id)).toBe(false);
  }, 30_000);
});

describe('observed uptime (injected clock)', () => {
  it('is online time over min(7 days, time since first seen), across devices and reconnects', async () => {
    const clock = manualClock();
    const server = await serve({}, clock);
    const t0 = clock.t;
    const ann = testIdentity();
    const watcher = await connect(server);
    await list(watcher, 1e9);

    let a = await connect(server, { identity: ann });
    await list(a, 5e9, 'Ann');
    clock.t = t0 + 2 * HOUR;
    // A second device of Ann comes and goes: Ann stays online throughout.
    const phone = await connect(server, { identity: ann });
    phone.close();
    await expect.poll(() => server.signaling.gauges().authenticated).toBe(2);
    clock.t = t0 + 3 * HOUR;
    a.close();
    await expect.poll(() => server.signaling.gauges().authenticated).toBe(1);
    clock.t = t0 + 4 * HOUR; // offline for one hour
    a = await connect(server, { identity: ann });
    await list(a, 5e9, 'Ann');
    const uptime = async (): Promise<number | undefined> => (await query(watcher)).peers.find((p) => p.id === ann.id)?.uptime7d;
    expect(await uptime()).toBe(0.75); // 3 h online of 4 h observed

    clock.t = t0 + 6 * HOUR;
    expect(await uptime()).toBe(Math.round((5 / 6) * 10_000) / 10_000);

    // Eight days later, online since hour 4: the window is the last 7 days, all online.
    clock.t = t0 + 8 * DAY;
    expect(await uptime()).toBe(1);
    // The watcher, online since t0, has observed 7 days at most too.
    a.close();
    await expect.poll(() => server.signaling.gauges().authenticated).toBe(1);
    clock.t = t0 + 8 * DAY + 12 * HOUR; // Ann offline for the last 12 h of the week
    a = await connect(server, { identity: ann });
    await list(a, 5e9, 'Ann');
    expect(await uptime()).toBe(Math.round((1 - 0.5 / 7) * 10_000) / 10_000);
  });

  it('tracker: bounded intervals shorten the observed window instead of inventing history; sweep forgets', () => {
    const clock = manualClock(0);
    const t = new UptimeTracker({ now: clock.now, windowMs: 7 * DAY, maxIntervals: 3, maxIds: 2 });
    expect(t.uptime('nobody')).toBe(0);
    t.online('a');
    expect(t.uptime('a')).toBe(1); // nothing observed yet, but online now
    for (let i = 0; i < 5; i++) {
      clock.t += HOUR;
      t.offline('a');
      clock.t += HOUR;
      t.online('a');
    }
    // 6 intervals of 1 h on, 1 h off; only the last 3 are kept and the window starts where the
    // dropped ones ended (5 h): 3 h online of 6 h observed.
    clock.t += HOUR;
    t.offline('a');
    expect(t.uptime('a')).toBe(0.5);
    // Capacity: a third identity forgets the least recently seen offline one.
    t.online('b');
    t.offline('b');
    t.online('c');
    expect(t.size).toBe(2);
    expect(t.uptime('a')).toBe(0);
    expect(t.uptime('b')).toBeGreaterThanOrEqual(0);
    clock.t += 8 * DAY;
    t.sweep();
    expect(t.size).toBe(1); // c is online and stays
  });
});

describe('network tokens', () => {
  it('are equal within a /24 or /48 and differ otherwise; never the address', () => {
    const key = new Uint8Array(randomBytes(32));
    const tok = (ip: string): string => networkToken(key, ip);
    expect(tok('10.1.2.3')).toBe(tok('10.1.2.250'));
    expect(tok('10.1.2.3')).not.toBe(tok('10.1.3.3'));
    expect(tok('::ffff:10.1.2.9')).toBe(tok('10.1.2.3'));
    expect(tok('2001:db8:1::1')).toBe(tok('2001:0db8:0001:ffff::2'));
    expect(tok('2001:db8:1::1')).not.toBe(tok('2001:db8:2::1'));
    expect(tok('fe80::1%eth0')).toBe(tok('fe80::2'));
    expect(tok('10.1.2.3')).toMatch(/^[A-Za-z0-9_-]{8}$/);
    // Another server (another key) gives other tokens: nothing to correlate across servers.
    expect(networkToken(new Uint8Array(randomBytes(32)), '10.1.2.3')).not.toBe(tok('10.1.2.3'));
    expect(networkPrefix('10.1.2.3')).toBe('4:10.1.2');
    expect(networkPrefix('::ffff:10.1.2.3')).toBe('4:10.1.2');
    expect(networkPrefix('2001:db8:1:2::3')).toBe('6:2001:db8:1');
    expect(networkPrefix('1::2:3:4:5:6:7')).toBe('6:1:0:2');
    expect(networkPrefix('unknown')).toBe('?:unknown');
  });

  it('come from X-Forwarded-For (its last entry) only with TRUST_PROXY', async () => {
    const server = await serve({ trustProxy: true });
    const asker = await connect(server, { ip: '192.0.2.1' });
    await list(asker, 1e9);
    const sameA = await connect(server, { ip: '10.1.2.3' });
    const sameB = await connect(server, { ip: '203.0.113.9, 10.1.2.200' }); // the proxy appended 10.1.2.200
    const other = await connect(server, { ip: '10.1.3.3' });
    const forged = await connect(server, { ip: '10.1.2.7, 10.9.9.9' }); // forged first entry is ignored
    for (const [c, name] of [[sameA, 'A'], [sameB, 'B'], [other, 'C'], [forged, 'F']] as const) await list(c, 1e9, name);
    const byName = Object.fromEntries((await query(asker)).peers.map((p) => [p.name, p.networkToken]));
    expect(byName.A).toBe(byName.B);
    expect(byName.C).not.toBe(byName.A);
    expect(byName.F).not.toBe(byName.A);

    const direct = await serve({ trustProxy: false });
    const x = await connect(direct, { ip: '10.1.2.3' });
    const y = await connect(direct, { ip: '10.200.0.1' });
    await list(x, 1e9, 'X');
    await list(y, 1e9, 'Y');
    // Without a trusted proxy the header means nothing: both come from 127.0.0.1.
    expect((await query(x)).peers[0]!.networkToken).toBe((await query(y)).peers[0]!.networkToken);
  });

  it('clientIp ignores a forwarded value that is not an address', () => {
    const socket = { remoteAddress: '127.0.0.1' } as never;
    expect(clientIp({ trustProxy: true }, { headers: { 'x-forwarded-for': 'a, b' }, socket })).toBe('127.0.0.1');
    expect(clientIp({ trustProxy: true }, { headers: { 'x-forwarded-for': ['1.2.3.4', '5.6.7.8'] }, socket })).toBe('5.6.7.8');
    expect(clientIp({ trustProxy: false }, { headers: { 'x-forwarded-for': '5.6.7.8' }, socket })).toBe('127.0.0.1');
  });

  it('a query reports the tokens of the asker\'s online mutual peers (its partners), and nobody else\'s', async () => {
    const server = await serve({ trustProxy: true });
    const asker = await connect(server, { ip: '192.0.2.1' });
    const partner = await connect(server, { ip: '10.5.5.5' });
    const stranger = await connect(server, { ip: '10.6.6.6' });
    const oneWay = await connect(server, { ip: '10.7.7.7' });
    await list(asker, 1e9);
    await list(partner, 1e9, 'Partner');
    await call(asker, { type: 'subscribe', ids: [partner.identity.id, oneWay.identity.id] });
    await call(partner, { type: 'subscribe', ids: [asker.identity.id] });
    await call(stranger, { type: 'subscribe', ids: [asker.identity.id] });
    const answer = await query(asker);
    const partnerToken = answer.peers.find((p) => p.id === partner.identity.id)!.networkToken;
    expect(answer.partners).toEqual([{ id: partner.identity.id, networkToken: partnerToken }]);
  });
});

describe('introductions (poolHello)', () => {
  it('reach only listed peers, from listed peers, with the authenticated sender', async () => {
    const server = await serve();
    const a = await connect(server);
    const b = await connect(server);
    const unlisted = await connect(server);
    await list(a, 1e9);
    await list(b, 1e9);
    expect(await call(a, { type: 'poolHello', to: b.identity.id, data: hello(100) })).toMatchObject({ type: 'ack' });
    expect(await b.next((m) => m.type === 'poolHello')).toEqual({ type: 'poolHello', from: a.address, data: hello(100) });
    // Not listed: the same answer as offline.
    expect(await call(a, { type: 'poolHello', to: unlisted.identity.id, data: hello(1) })).toMatchObject({ type: 'error', code: 'unreachable' });
    expect(await call(a, { type: 'poolHello', to: testIdentity().id, data: hello(1) })).toMatchObject({ code: 'unreachable' });
    expect(await call(a, { type: 'poolHello', to: a.identity.id, data: hello(1) })).toMatchObject({ code: 'unreachable' });
    // An unlisted sender cannot contact listed peers.
    expect(await call(unlisted, { type: 'poolHello', to: a.identity.id, data: hello(1) })).toMatchObject({ code: 'not-listed' });
    // After unlisting, b is unreachable again.
    await call(b, { type: 'poolUnlist' });
    expect(await call(a, { type: 'poolHello', to: b.identity.id, data: hello(1) })).toMatchObject({ code: 'unreachable' });
    expect(unlisted.pending().filter((m) => m.type === 'poolHello')).toEqual([]);
  });

  it('are at most 4 KiB and rate-limited with relays', async () => {
    const server = await serve({ relaysPerS: 1, relaysBurst: 3 });
    const a = await connect(server);
    const b = await connect(server);
    await list(a, 1e9);
    await list(b, 1e9);
    expect(await call(a, { type: 'poolHello', to: b.identity.id, data: hello(SIGNALING_LIMITS.poolHelloBytes + 1) })).toMatchObject({ code: 'bad-message' });
    for (let i = 0; i < 5; i++) a.send({ type: 'poolHello', to: b.identity.id, data: hello(SIGNALING_LIMITS.poolHelloBytes), rid: 700 + i });
    expect(await call(a, { type: 'subscribers' })).toMatchObject({ type: 'subscribers' });
    const answers = a.pending().filter((m) => 'rid' in m && m.rid !== undefined && m.rid >= 700 && m.rid < 705);
    expect(answers).toEqual([
      { type: 'ack', rid: 700 },
      { type: 'ack', rid: 701 },
      { type: 'ack', rid: 702 },
      expect.objectContaining({ type: 'error', code: 'rate-limited', rid: 703 }),
    ]);
  });
});
