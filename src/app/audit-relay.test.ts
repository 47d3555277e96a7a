/**
 * Audits over the relay against the real signaling server (Node, `ws` sockets): the owner's
 * transport as the service worker runs it, the partner's responder as a page runs it, and a tap
 * on the owner's socket standing in for a malicious server.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { startServer, type RunningServer } from '../../signaling-server/server.ts';
import { silentLogger, testConfig } from '../../signaling-server/testing.ts';
import { buildAnswer, verifyAnswer } from '../core/audit/answer.ts';
import { AUDIT_RELAY_LABEL, encodeAuditRelay } from '../core/audit/relay.ts';
import { signTagged } from '../core/keys/identity.ts';
import { leafCount, merkleRoot } from '../core/merkle/index.ts';
import { identityFromSeed, signalingIdOf, type LinkIdentity } from '../p2p/identity.ts';
import { RELAY_LABEL, sealRelay } from '../p2p/relay.ts';
import { SignalingClient, type WebSocketLike } from '../p2p/signaling-client.ts';
import { toBase64Url } from '../protocol/encoding.ts';
import type { DeviceId, PeerAddress, SignalingId } from '../protocol/signaling.ts';
import { AuditRelayResponder, RelayAuditTransport, signalingUrlFor, type AuditChallengeRequest, type RelaySignaling } from './audit-relay.ts';
import type { Requester } from './holder.ts';

const servers: RunningServer[] = [];
const closers: (() => void)[] = [];

afterEach(async () => {
  for (const c of closers.splice(0)) c();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(): Promise<RunningServer> {
  const s = await startServer(testConfig(), silentLogger());
  servers.push(s);
  return s;
}

/** A party: identity, its seed (to sign answers as core does), its signaling id. */
function party(): { seed: Uint8Array; identity: LinkIdentity; id: SignalingId } {
  const seed = randomBytes(32);
  const identity = identityFromSeed(seed);
  return { seed, identity, id: signalingIdOf(identity.publicKey) };
}

/** A socket whose incoming messages a test can drop, record and forge: a malicious server's view. */
class Tap implements WebSocketLike {
  readonly inner: WebSocket;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  /** Return true to drop an incoming message. */
  filter: (m: { type: string; from?: PeerAddress; data?: string }) => boolean = () => false;

  constructor(url: string) {
    this.inner = new WebSocket(url);
    this.inner.onopen = (e) => this.onopen?.(e);
    this.inner.onclose = (e) => this.onclose?.({ code: e.code, reason: e.reason });
    this.inner.onerror = (e) => this.onerror?.(e);
    this.inner.onmessage = (e) => {
      const text = String(e.data);
      if (!this.filter(JSON.parse(text) as { type: string })) this.onmessage?.({ data: text });
    };
  }

  get readyState(): number {
    return this.inner.readyState;
  }

  send(data: string): void {
    this.inner.send(data);
  }

  close(code?: number, reason?: string): void {
    this.inner.close(code, reason);
  }

  /** Delivers a message as if the server had sent it. */
  inject(m: object): void {
    this.onmessage?.({ data: JSON.stringify(m) });
  }
}

/** A 4 MiB shard the partner holds, and a 16-leaf challenge over it (answers ~23 KiB: two parts). */
const shardId = 'c'.repeat(64);
const shard = Uint8Array.from({ length: 4 * 1024 * 1024 }, (_, i) => (i * 2654435761) >>> 24);
const root = merkleRoot(shard);
const known = (id: string) => (id === shardId ? { root, leaves: leafCount(shard.length) } : undefined);

function challenge(): { type: 'audit.challenge'; nonce: string; items: { shard: string; leaves: number[] }[]; raw: Uint8Array } {
  const raw = randomBytes(16);
  const leaves = [...new Set(Array.from({ length: 16 }, () => Math.floor(Math.random() * 4096)))].sort((a, b) => a - b);
  return { type: 'audit.challenge', nonce: toBase64Url(raw), items: [{ shard: shardId, leaves }], raw };
}

/** The partner: a signaling client subscribed to the owner, answering with the responder. */
async function partnerOnline(server: RunningServer, p: ReturnType<typeof party>, ownerId: SignalingId, opts: { agreement?: boolean; burst?: number } = {}) {
  const client = new SignalingClient({ url: server.wsUrl, identity: p.identity, createSocket: (u) => new WebSocket(u) as unknown as WebSocketLike });
  closers.push(() => client.close());
  const answered: Requester[] = [];
  const responder = new AuditRelayResponder({
    signaling: client,
    identity: p.identity,
    hasAgreement: async () => opts.agreement ?? true,
    answer: async (owner, req) => {
      answered.push(owner);
      return buildAnswer(async (id) => (id === shardId ? shard : undefined), Buffer.from(req.nonce, 'base64url'), req.items, async (tag, m) => signTagged(p.seed, tag, m));
    },
    ...(opts.burst !== undefined ? { burst: opts.burst } : {}),
  });
  responder.start();
  const ready = new Promise<void>((r) => client.on('ready', () => r()));
  client.start();
  await ready;
  await client.subscribe([ownerId]);
  return { client, responder, answered };
}

function ownerTransport(server: RunningServer, o: ReturnType<typeof party>, extra: { answerTimeoutMs?: number; tap?: (t: Tap) => void } = {}): RelayAuditTransport {
  const t = new RelayAuditTransport({
    url: server.wsUrl,
    identity: o.identity,
    createSocket: (u) => {
      const tap = new Tap(u);
      extra.tap?.(tap);
      return tap;
    },
    answerTimeoutMs: extra.answerTimeoutMs ?? 10_000,
  });
  closers.push(() => t.close());
  return t;
}

describe('audits over the relay', () => {
  it('an owner-signed challenge reaches the partner and its answer comes back in parts and verifies', async () => {
    const server = await serve();
    const owner = party();
    const partner = party();
    const p = await partnerOnline(server, partner, owner.id);
    const t = ownerTransport(server, owner);
    const c = challenge();
    const answer = await t.transport(partner.identity.publicKey, c);
    expect(answer).not.toBeNull();
    expect(answer!.length).toBeGreaterThan(16 * 1024);
    expect(t.counters.parts).toBe(2);
    expect(verifyAnswer(answer!, partner.identity.publicKey, c.raw, c.items, known)).toEqual({ ok: true });
    expect(p.responder.counters).toMatchObject({ answered: 1, invalid: 0, refused: 0 });
    expect(p.answered[0]!.publicKey).toEqual(owner.identity.publicKey);
    // A second round on the same connection: fresh nonce, fresh answer.
    const c2 = challenge();
    const answer2 = await t.transport(partner.identity.publicKey, c2);
    expect(verifyAnswer(answer2!, partner.identity.publicKey, c2.raw, c2.items, known)).toEqual({ ok: true });
  });

  it('an unreachable partner, or one we have no agreement with, gives null and costs the partner nothing', async () => {
    const server = await serve();
    const owner = party();
    const offline = party();
    const t = ownerTransport(server, owner, { answerTimeoutMs: 1_000 });
    expect(await t.transport(offline.identity.publicKey, challenge())).toBeNull();

    const stranger = party();
    const s = await partnerOnline(server, stranger, owner.id, { agreement: false });
    expect(await t.transport(stranger.identity.publicKey, challenge())).toBeNull();
    expect(s.responder.counters).toMatchObject({ refused: 1, answered: 0 });
    expect(s.answered).toHaveLength(0);
  });

  it('the partner rate-limits each owner', async () => {
    const server = await serve();
    const owner = party();
    const partner = party();
    const p = await partnerOnline(server, partner, owner.id, { burst: 2 });
    const t = ownerTransport(server, owner, { answerTimeoutMs: 1_000 });
    expect(await t.transport(partner.identity.publicKey, challenge())).not.toBeNull();
    expect(await t.transport(partner.identity.publicKey, challenge())).not.toBeNull();
    expect(await t.transport(partner.identity.publicKey, challenge())).toBeNull();
    expect(p.responder.counters).toMatchObject({ answered: 2, rateLimited: 1 });
    expect(p.answered).toHaveLength(2);
  });

  it('a malicious server can neither replay an old answer, forge one, nor alter one', async () => {
    const server = await serve();
    const owner = party();
    const partner = party();
    const p = await partnerOnline(server, partner, owner.id);
    let tap!: Tap;
    const t = ownerTransport(server, owner, { tap: (x) => (tap = x) });
    // Round 1 connects (so the tap exists); in round 2 the "server" keeps a copy of the answer parts.
    expect(await t.transport(partner.identity.publicKey, challenge())).not.toBeNull();
    const recorded: { from: PeerAddress; data: string }[] = [];
    tap.filter = (m) => {
      if (m.type === 'relay') recorded.push({ from: m.from!, data: m.data! });
      return false;
    };
    const c2 = challenge();
    expect(verifyAnswer((await t.transport(partner.identity.publicKey, c2))!, partner.identity.publicKey, c2.raw, c2.items, known).ok).toBe(true);
    expect(recorded).toHaveLength(2);
    const oldParts = recorded.splice(0);

    // Round 3: the server withholds the genuine parts and tries its own first.
    const held: { from: PeerAddress; data: string }[] = [];
    tap.filter = (m) => {
      if (m.type !== 'relay') return false;
      held.push({ from: m.from!, data: m.data! });
      return true;
    };
    const c3 = challenge();
    let settled = false;
    const pending = t.transport(partner.identity.publicKey, c3).finally(() => (settled = true));
    await vi.waitFor(() => expect(held).toHaveLength(2), { timeout: 5_000 });
    const ignoredBefore = t.counters.ignored;
    // (1) round 2's genuine parts again (a replay of an old answer);
    for (const m of oldParts) tap.inject({ type: 'relay', ...m });
    // (2) parts "from" the partner but sealed by a key the server holds;
    const serverKey = identityFromSeed(randomBytes(32));
    const forged = await sealRelay({ publicKey: partner.identity.publicKey, sign: serverKey.sign }, owner.identity.publicKey,
      encodeAuditRelay({ kind: 'answer-part', nonce: c3.raw, index: 0, count: 1, total: 3, bytes: new Uint8Array(3) }), { label: AUDIT_RELAY_LABEL });
    tap.inject({ type: 'relay', from: held[0]!.from, data: toBase64Url(forged) });
    // (3) the genuine parts with one byte altered.
    for (const m of held) {
      const bytes = Buffer.from(m.data, 'base64url');
      bytes[bytes.length - 100]! ^= 1;
      tap.inject({ type: 'relay', from: m.from, data: toBase64Url(bytes) });
    }
    await vi.waitFor(() => expect(t.counters.ignored - ignoredBefore).toBe(5), { timeout: 5_000 });
    expect(settled).toBe(false);
    // The genuine parts, at last: the round completes with the partner's own answer.
    for (const m of held) tap.inject({ type: 'relay', ...m });
    const a3 = await pending;
    expect(verifyAnswer(a3!, partner.identity.publicKey, c3.raw, c3.items, known)).toEqual({ ok: true });
    expect(p.responder.counters.answered).toBe(3);
  });
});

describe('the partner checks every relayed challenge before any work', () => {
  const owner = party();
  const partner = party();
  const from: PeerAddress = { id: owner.id, device: toBase64Url(new Uint8Array(16)) as DeviceId };

  function responder() {
    const sent: Uint8Array[] = [];
    const signaling: RelaySignaling = { on: () => () => undefined, relay: async (_to, data) => void sent.push(data) };
    const answered: AuditChallengeRequest[] = [];
    const r = new AuditRelayResponder({
      signaling,
      identity: partner.identity,
      hasAgreement: async (o) => o.publicKey.every((b, i) => b === owner.identity.publicKey[i]),
      answer: async (_o, req) => {
        answered.push(req);
        return new Uint8Array(20_000).fill(7);
      },
    });
    return { r, sent, answered };
  }

  const body = () => encodeAuditRelay({ kind: 'challenge', nonce: randomBytes(16), items: [{ shard: shardId, leaves: [1, 2, 3] }] });

  it('answers a good challenge in signed parts, and refuses its replay', async () => {
    const { r, sent, answered } = responder();
    const msg = await sealRelay(owner.identity, partner.identity.publicKey, body(), { label: AUDIT_RELAY_LABEL });
    await r.handle(from, msg);
    expect(answered).toHaveLength(1);
    expect(sent).toHaveLength(2);
    await r.handle(from, msg);
    expect(answered).toHaveLength(1);
    expect(r.counters).toMatchObject({ answered: 1, invalid: 1 });
  });

  it('refuses forged, misaddressed, stale, mislabelled and malformed challenges without work', async () => {
    const { r, answered } = responder();
    const stranger = identityFromSeed(randomBytes(32));
    const cases = [
      // signed by someone else, claimed to come from the owner
      await sealRelay({ publicKey: owner.identity.publicKey, sign: stranger.sign }, partner.identity.publicKey, body(), { label: AUDIT_RELAY_LABEL }),
      // for another recipient
      await sealRelay(owner.identity, stranger.publicKey, body(), { label: AUDIT_RELAY_LABEL }),
      // eleven minutes old
      await sealRelay(owner.identity, partner.identity.publicKey, body(), { label: AUDIT_RELAY_LABEL, now: Date.now() - 11 * 60_000 }),
      // a relayed message of another kind (other label)
      await sealRelay(owner.identity, partner.identity.publicKey, body(), { label: RELAY_LABEL }),
      // signed, but not a challenge
      await sealRelay(owner.identity, partner.identity.publicKey, new Uint8Array([1, 2, ...new Uint8Array(16), 0, 1, 0, 0, 0, 0, 0]), { label: AUDIT_RELAY_LABEL }),
      // signed, but asking leaves past any shard
      await sealRelay(owner.identity, partner.identity.publicKey, encodeAuditRelay({ kind: 'challenge', nonce: randomBytes(16), items: [{ shard: shardId, leaves: [2 ** 30] }] }), { label: AUDIT_RELAY_LABEL }),
      new Uint8Array(10),
    ];
    for (const c of cases) await r.handle(from, c);
    expect(answered).toHaveLength(0);
    expect(r.counters).toMatchObject({ answered: 0, invalid: cases.length });
    // A real challenge from someone without an agreement: verified, then refused, no work.
    await r.handle({ id: signalingIdOf(stranger.publicKey), device: from.device }, await sealRelay(stranger, partner.identity.publicKey, body(), { label: AUDIT_RELAY_LABEL }));
    expect(r.counters.refused).toBe(1);
    expect(answered).toHaveLength(0);
  });
});

describe('signalingUrlFor', () => {
  it('maps the origin to its /ws socket', () => {
    expect(signalingUrlFor('https://backup.example.org/app/sw.js')).toBe('wss://backup.example.org/ws');
    expect(signalingUrlFor('http://127.0.0.1:8787/')).toBe('ws://127.0.0.1:8787/ws');
  });
});
