import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { toBase64Url } from '../protocol/encoding.ts';
import type { DeviceId } from '../protocol/signaling.ts';
import { Backoff } from './backoff.ts';
import { RELAY_MAX_SKEW_MS } from './constants.ts';
import { InviteError, RelayVerificationError } from './errors.ts';
import { identityFromSeed } from './identity.ts';
import { createInvite, decodeInvite, encodeInvite, inviteMailbox, openInviteReply, sealInviteReply } from './invite.ts';
import { MAX_RELAY_BODY_BYTES, openRelay, ReplayGuard, sealRelay } from './relay.ts';
import { decodePeerSignal, encodePeerSignal } from './signals.ts';

const alice = identityFromSeed(new Uint8Array(32).fill(1));
const bob = identityFromSeed(new Uint8Array(32).fill(2));
const now = 1_800_000_000_000;

describe('relayed messages', () => {
  it('open only for the right recipient, from the claimed sender, fresh and once', async () => {
    const body = new TextEncoder().encode('audit challenge 42');
    const sealed = await sealRelay(alice, bob.publicKey, body, { now });
    const replay = new ReplayGuard();
    expect(await openRelay(sealed, { from: alice.publicKey, me: bob.publicKey, now, replay })).toEqual(body);
    await expect(openRelay(sealed, { from: alice.publicKey, me: bob.publicKey, now, replay })).rejects.toMatchObject({ reason: 'replayed' });
    await expect(openRelay(sealed, { from: bob.publicKey, me: bob.publicKey, now })).rejects.toMatchObject({ reason: 'wrong-sender' });
    await expect(openRelay(sealed, { from: alice.publicKey, me: alice.publicKey, now })).rejects.toMatchObject({ reason: 'wrong-recipient' });
    await expect(openRelay(sealed, { from: alice.publicKey, me: bob.publicKey, now: now + RELAY_MAX_SKEW_MS + 1 })).rejects.toMatchObject({ reason: 'stale' });
  });

  it('refuse any tampered byte and malformed input with typed errors', async () => {
    const sealed = await sealRelay(alice, bob.publicKey, new Uint8Array(100), { now });
    for (const i of [0, 80, 100, sealed.length - 1]) {
      const t = Uint8Array.from(sealed);
      t[i]! ^= 1;
      const err = await openRelay(t, { from: alice.publicKey, me: bob.publicKey, now }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RelayVerificationError);
    }
    await expect(openRelay(new Uint8Array(10), { from: alice.publicKey, me: bob.publicKey })).rejects.toMatchObject({ reason: 'malformed' });
    await expect(openRelay(new Uint8Array(16 * 1024 + 1), { from: alice.publicKey, me: bob.publicKey })).rejects.toMatchObject({ reason: 'too-large' });
  });

  it('are domain-separated by label: a pool introduction never opens as a relayed message', async () => {
    const body = new TextEncoder().encode('{"v":1}');
    const intro = await sealRelay(alice, bob.publicKey, body, { now, label: 'backpact/v1/pool-intro' });
    expect(await openRelay(intro, { from: alice.publicKey, me: bob.publicKey, now, label: 'backpact/v1/pool-intro' })).toEqual(body);
    await expect(openRelay(intro, { from: alice.publicKey, me: bob.publicKey, now })).rejects.toMatchObject({ reason: 'bad-signature' });
    const relayed = await sealRelay(alice, bob.publicKey, body, { now });
    await expect(openRelay(relayed, { from: alice.publicKey, me: bob.publicKey, now, label: 'backpact/v1/pool-intro' })).rejects.toMatchObject({ reason: 'bad-signature' });
  });

  it('fit the server limit exactly at the largest body', async () => {
    const sealed = await sealRelay(alice, bob.publicKey, new Uint8Array(MAX_RELAY_BODY_BYTES), { now });
    expect(sealed.length).toBe(16 * 1024);
    await expect(sealRelay(alice, bob.publicKey, new Uint8Array(MAX_RELAY_BODY_BYTES + 1))).rejects.toBeInstanceOf(RangeError);
  });
});

describe('invites', () => {
  it('round-trip through the link text and address a mailbox by a hash of the id only', () => {
    const invite = createInvite(alice.publicKey);
    const text = encodeInvite(invite);
    expect(decodeInvite(text)).toEqual(invite);
    const box = inviteMailbox(invite.inviteId);
    expect(box).toHaveLength(43);
    expect(box).not.toContain(toBase64Url(invite.inviteId));
    expect(inviteMailbox(invite.inviteId)).toBe(box);
    expect(() => decodeInvite('nonsense')).toThrow(InviteError);
    expect(() => decodeInvite(toBase64Url(new Uint8Array(81)))).toThrow(InviteError);
  });

  it('accept a reply only from someone holding the secret', () => {
    const invite = createInvite(alice.publicKey);
    const device = toBase64Url(randomBytes(16)) as DeviceId;
    const reply = sealInviteReply(invite, bob.publicKey, device, new TextEncoder().encode('Bob'));
    expect(openInviteReply(invite, reply)).toEqual({ guestKey: bob.publicKey, device, payload: new TextEncoder().encode('Bob') });
    const forged = sealInviteReply({ ...invite, secret: new Uint8Array(32) }, bob.publicKey, device);
    expect(() => openInviteReply(invite, forged)).toThrow(InviteError);
    const tampered = Uint8Array.from(reply);
    tampered[5]! ^= 1;
    expect(() => openInviteReply(invite, tampered)).toThrow(InviteError);
    expect(() => openInviteReply(invite, reply.subarray(0, 40))).toThrow(InviteError);
  });
});

describe('peer signals', () => {
  it('round-trip and refuse anything malformed', () => {
    const offer = { v: 1, cid: 'abcdefgh1234', kind: 'offer', sdp: 'v=0' } as const;
    const cand = { v: 1, cid: 'abcdefgh1234', kind: 'candidate', candidate: 'candidate:1 1 udp 1 10.0.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 } as const;
    expect(decodePeerSignal(encodePeerSignal(offer))).toEqual(offer);
    expect(decodePeerSignal(encodePeerSignal(cand))).toEqual(cand);
    expect(decodePeerSignal(encodePeerSignal({ v: 1, cid: 'abcdefgh1234', kind: 'bye' }))).toEqual({ v: 1, cid: 'abcdefgh1234', kind: 'bye' });
    for (const bad of ['', '[]', '{"v":2,"cid":"abcdefgh1234","kind":"bye"}', '{"v":1,"cid":"x","kind":"bye"}', '{"v":1,"cid":"abcdefgh1234","kind":"offer"}',
      '{"v":1,"cid":"abcdefgh1234","kind":"bye","__proto__":1}', `{"v":1,"cid":"abcdefgh1234","kind":"offer","sdp":"${'x'.repeat(20000)}"}`,
      '{"v":1,"cid":"abcdefgh1234","kind":"candidate","candidate":"c","sdpMid":5,"sdpMLineIndex":0}']) {
      expect(decodePeerSignal(bad)).toBeNull();
    }
  });
});

describe('back-off', () => {
  it('grows exponentially with jitter in [cap/2, cap], up to the maximum, and resets', () => {
    let r = 0;
    const b = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, random: () => r });
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([50, 100, 200, 400, 500, 500]);
    r = 0.999999;
    expect(b.next()).toBe(1000);
    b.reset();
    expect(b.next()).toBe(100);
  });
});
