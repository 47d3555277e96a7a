/**
 * 10^5 hostile frames against a real server: random text, invalid UTF-8 and binary frames, deep
 * nesting, prototype keys, valid messages with fields of the wrong type, and valid messages with
 * random content. The server must answer or close, never crash, never pollute prototypes, and
 * still serve well-behaved clients afterwards.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { toBase64Url } from '../src/protocol/encoding.ts';
import { startServer, type RunningServer } from './server.ts';
import { TestClient, silentLogger, testConfig } from './testing.ts';

const FRAMES = 100_000;

/** Deterministic PRNG (mulberry32) so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const rand = prng(SEED);
const int = (n: number): number => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(256));

const TYPES = ['auth', 'subscribe', 'unsubscribe', 'subscribers', 'signal', 'relay', 'mailboxOpen', 'mailboxPost', 'mailboxClose', 'poolList', 'poolUnlist', 'poolQuery', 'poolHello', 'pool', 'welcome', 'toString', '__proto__', '', 'SIGNAL'];
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty'];

function randomValue(depth: number): unknown {
  switch (int(depth > 3 ? 6 : 9)) {
    case 0: return null;
    case 1: return rand() < 0.5;
    case 2: return pick([0, -1, 1e308, -0, 2 ** 32, 2 ** 53 + 1, 0.5, int(1e9)]);
    case 3: return toBase64Url(bytes(pick([0, 1, 16, 31, 32, 33, 64])));
    case 4: return String.fromCharCode(...Array.from({ length: int(20) }, () => int(0x10000)));
    case 5: return 'x'.repeat(pick([0, 1, 100, 20_000]));
    case 6: return Array.from({ length: int(5) }, () => randomValue(depth + 1));
    case 7: return Object.fromEntries(Array.from({ length: int(5) }, () => [pick([...PROTO_KEYS, 'id', 'device', 'type', 'a']), randomValue(depth + 1)]));
    default: return { id: toBase64Url(bytes(32)), device: toBase64Url(bytes(16)) };
  }
}

function validish(peers: string[], devices: string[]): Record<string, unknown> {
  const to = { id: pick(peers), device: pick(devices) };
  const box = toBase64Url(bytes(32));
  switch (int(12)) {
    case 0: return { type: 'subscribe', ids: Array.from({ length: int(4) }, () => pick(peers)) };
    case 1: return { type: 'unsubscribe', ids: [pick(peers)] };
    case 2: return { type: 'subscribers', rid: int(2 ** 32) };
    case 3: return { type: 'signal', to, data: 'x'.repeat(int(200)) };
    case 4: return { type: 'relay', to: to.id, data: toBase64Url(bytes(int(300))) };
    case 5: return { type: 'mailboxOpen', box, ttlS: int(1e6) };
    case 6: return { type: 'mailboxPost', box, data: '' };
    case 7: return { type: 'poolList', offeredBytes: pick([0, 1e9, 1e15, 1e15 + 1, -1]), balanceBytes: pick([0, -1e9, -1e16]), name: pick(['Ann', '', 'x'.repeat(65), '\u0000', '\u202e']) };
    case 8: return { type: 'poolUnlist' };
    case 9: return { type: 'poolQuery', rid: int(2 ** 32) };
    case 10: return { type: 'poolHello', to: to.id, data: toBase64Url(bytes(pick([0, 100, 4096, 4097]))) };
    default: return { type: 'mailboxClose', box };
  }
}

/** One hostile text frame. Mutates valid messages a field at a time; adds prototype keys. */
function hostileText(peers: string[], devices: string[]): string {
  switch (int(7)) {
    case 0: // random printable or arbitrary UTF-16 text
      return String.fromCharCode(...Array.from({ length: int(64) }, () => (rand() < 0.7 ? 32 + int(95) : int(0xd7ff))));
    case 1: { // deep nesting, up to the 64 KiB frame limit
      if (rand() < 0.5) {
        const depth = 1 + int(32_000);
        return '['.repeat(depth) + ']'.repeat(depth);
      }
      const depth = 1 + int(10_000);
      return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    }
    case 2: { // prototype keys at the top level and in nested objects
      const m = validish(peers, devices);
      const key = pick(PROTO_KEYS);
      return JSON.stringify(m).replace(/^\{/, `{"${key}":${JSON.stringify(randomValue(0))},`);
    }
    case 3: { // a valid message with one field of the wrong type
      const m = validish(peers, devices);
      const keys = Object.keys(m);
      m[pick(keys)] = randomValue(0);
      return JSON.stringify(m);
    }
    case 4: // random JSON with a plausible type
      return JSON.stringify({ type: pick(TYPES), ...(randomValue(0) as object) });
    case 5: // truncated valid JSON
      { const s = JSON.stringify(validish(peers, devices)); return s.slice(0, int(s.length)); }
    default:
      return JSON.stringify(validish(peers, devices));
  }
}

let server: RunningServer;

beforeAll(async () => {
  server = await startServer(
    testConfig({ messagesPerS: 1_000_000, messagesBurst: 10_000_000, relaysPerS: 1_000_000, relaysBurst: 10_000_000, maxConnectionsPerIp: 10_000 }),
    silentLogger(),
  );
});

afterAll(async () => {
  await server.close();
});

it(`survives ${FRAMES} hostile frames (seed ${SEED}) and keeps serving`, async () => {
  const fuzzers = await Promise.all(Array.from({ length: 4 }, () => TestClient.connect(server.wsUrl)));
  const peers = fuzzers.map((c) => c.identity.id as string);
  const devices = fuzzers.map((c) => c.device as string);
  for (const c of fuzzers) c.send({ type: 'subscribe', ids: peers });

  let sent = 0;
  let socketKillers = 0;
  const BATCH = 2_000;
  while (sent < FRAMES) {
    for (let i = 0; i < BATCH && sent < FRAMES; i++, sent++) {
      let frame = hostileText(peers, devices);
      // Oversize frames close their socket: they are sent on throwaway sockets below.
      while (Buffer.byteLength(frame) > 64 * 1024) frame = frame.slice(0, frame.length >> 1);
      pick(fuzzers).send(frame);
    }
    // A frame that must close its socket (invalid UTF-8, binary, oversize, garbage before auth)
    // goes to a throwaway socket, so the long-lived fuzzers keep going.
    const throwaway = await TestClient.open(server.wsUrl);
    const kind = socketKillers++ % 4;
    if (kind === 0) throwaway.ws.send(Buffer.from([0xc3, 0x28, ...bytes(int(100))]), { binary: false }); // invalid UTF-8 text
    if (kind === 1) throwaway.send(bytes(1 + int(1000)));
    if (kind === 2) throwaway.send('{"type":"auth",' + ' '.repeat(70_000) + '}');
    if (kind === 3) throwaway.send(hostileText(peers, devices));
    const { code } = await throwaway.closed;
    expect([1003, 1007, 1009, 4401]).toContain(code);
    sent++;
    // Round trip on every fuzzer: the server has processed the whole batch and still answers.
    await Promise.all(fuzzers.map(async (c) => {
      const rid = 4_000_000_000 + sent;
      c.send({ type: 'subscribers', rid });
      await c.next((m) => m.type === 'subscribers' && m.rid === rid, 20_000);
      c.clear();
    }));
  }
  for (const c of fuzzers) expect(c.undecodable).toEqual([]);

  // Nothing leaked into prototypes.
  expect(({} as Record<string, unknown>).a).toBeUndefined();
  expect(Object.keys(Object.prototype)).toEqual([]);

  // Well-behaved clients still authenticate, see each other and route.
  const a = await TestClient.connect(server.wsUrl);
  const b = await TestClient.connect(server.wsUrl);
  a.send({ type: 'subscribe', ids: [b.identity.id] });
  b.send({ type: 'subscribe', ids: [a.identity.id] });
  await a.next((m) => m.type === 'presence' && m.online);
  a.send({ type: 'signal', to: b.address, data: 'after the storm' });
  expect(await b.next((m) => m.type === 'signal')).toMatchObject({ from: a.address, data: 'after the storm' });
  const health = await (await fetch(new URL('/healthz', server.url))).json();
  expect(health).toMatchObject({ ok: true });
  for (const c of [...fuzzers, a, b]) c.close();
}, 180_000);
