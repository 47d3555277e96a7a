import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { MalformedError, SignatureError, UnsupportedVersionError } from '../errors.ts';
import {
  amendTerms, canonicalJson, counterTerms, endTerms, isQuantizedQuota, parseSignedAgreement, parseTerms,
  proposeTerms, publicKeyText, quantizeQuota, signTerms, supersedes, type Signer,
} from './index.ts';

function signer(seedByte: number): Signer {
  const secret = new Uint8Array(32).fill(seedByte);
  return { publicKey: ed25519.getPublicKey(secret), sign: async (m) => ed25519.sign(m, secret) };
}

const alice = signer(1);
const bob = signer(2);
const mallory = signer(3);

function proposal() {
  return proposeTerms({
    me: { publicKey: publicKeyText(alice.publicKey), name: 'Alice', availability: 'most-of-day' },
    other: { publicKey: publicKeyText(bob.publicKey), name: 'Bob', availability: 'few-hours' },
    quotaBytes: 5e9,
    now: 1_700_000_000_000,
    idBytes: new Uint8Array(16).fill(7),
  });
}

describe('quota quantization', () => {
  it('rounds up to the next step and recognises steps', () => {
    expect(quantizeQuota(1)).toBe(1e9);
    expect(quantizeQuota(1e9)).toBe(1e9);
    expect(quantizeQuota(1e9 + 1)).toBe(2e9);
    expect(quantizeQuota(7e9)).toBe(10e9);
    expect(quantizeQuota(5e12)).toBe(1000e9);
    expect(isQuantizedQuota(20e9)).toBe(true);
    expect(isQuantizedQuota(3e9)).toBe(false);
  });
});

describe('agreement terms', () => {
  it('proposes symmetric terms with the documented defaults', () => {
    const t = proposal();
    expect(t).toMatchObject({ v: 1, revision: 1, auditIntervalS: 86400, graceS: 14 * 86400, probation: false, endsAt: null });
    expect(t.a.holdsBytes).toBe(t.b.holdsBytes);
  });

  it('encodes canonically: key order does not change the bytes', () => {
    const t = proposal();
    const reversed = Object.fromEntries(Object.entries(t).reverse());
    const shuffled = { ...reversed, a: Object.fromEntries(Object.entries(t.a).reverse()) };
    expect(Object.keys(shuffled)[0]).toBe('endsAt');
    expect(canonicalJson(shuffled)).toBe(canonicalJson(t as never));
  });

  it('refuses unquantized or asymmetric quotas, self-partnering, and unknown versions', () => {
    const t = proposal();
    expect(() => parseTerms({ ...t, a: { ...t.a, holdsBytes: 3e9 }, b: { ...t.b, holdsBytes: 3e9 } })).toThrow(MalformedError);
    expect(() => parseTerms({ ...t, b: { ...t.b, holdsBytes: 10e9 } })).toThrow(/symmetric/);
    expect(() => parseTerms({ ...t, b: { ...t.b, publicKey: t.a.publicKey } })).toThrow(/itself/);
    expect(() => parseTerms({ ...t, v: 2 })).toThrow(UnsupportedVersionError);
    expect(() => parseTerms({ ...t, auditIntervalS: 5 })).toThrow(MalformedError);
    expect(() => parseTerms(null)).toThrow(MalformedError);
    expect(() => parseTerms({ ...t, __proto__: { polluted: true }, a: 'x' })).toThrow(MalformedError);
  });

  it('counters keep the revision; amendments and endings bump it; ending sets the notice period', () => {
    const t = proposal();
    const c = counterTerms(t, { quotaBytes: 10e9 }, t.createdAt + 1);
    expect(c.revision).toBe(1);
    expect(c.a.holdsBytes).toBe(10e9);
    const amended = amendTerms(c, { availabilityOf: { publicKey: c.b.publicKey, availability: 'always-on' } }, c.createdAt + 2);
    expect(amended.revision).toBe(2);
    expect(amended.b.availability).toBe('always-on');
    const ended = endTerms(amended, amended.createdAt + 3);
    expect(ended.revision).toBe(3);
    expect(ended.endsAt).toBe(amended.createdAt + 3 + 14 * 86400 * 1000);
    expect(() => amendTerms(ended, { quotaBytes: 1e9 }, ended.updatedAt)).toThrow();
  });
});

describe('signed agreements', () => {
  it('verifies when both parties signed the same terms', async () => {
    const t = proposal();
    const signed = { terms: t, sigA: await signTerms(t, alice), sigB: await signTerms(t, bob) };
    expect(parseSignedAgreement(JSON.parse(JSON.stringify(signed))).terms).toEqual(t);
  });

  it('refuses a signature by a non-party, a swapped signature, or changed terms', async () => {
    const t = proposal();
    await expect(signTerms(t, mallory)).rejects.toThrow(/only a party/);
    const sigA = await signTerms(t, alice);
    const sigB = await signTerms(t, bob);
    expect(() => parseSignedAgreement({ terms: t, sigA: sigB, sigB: sigA })).toThrow(SignatureError);
    const changed = { ...t, a: { ...t.a, holdsBytes: 10e9 }, b: { ...t.b, holdsBytes: 10e9 } };
    expect(() => parseSignedAgreement({ terms: changed, sigA, sigB })).toThrow(SignatureError);
    expect(() => parseSignedAgreement({ terms: t, sigA: 'zz', sigB })).toThrow(SignatureError);
  });

  it('a later revision supersedes; an older one or another agreement does not', async () => {
    const t1 = proposal();
    const s1 = { terms: t1, sigA: await signTerms(t1, alice), sigB: await signTerms(t1, bob) };
    const t2 = amendTerms(t1, { quotaBytes: 10e9 }, t1.createdAt + 5);
    const s2 = { terms: t2, sigA: await signTerms(t2, alice), sigB: await signTerms(t2, bob) };
    expect(supersedes(s2, s1)).toBe(true);
    expect(supersedes(s1, s2)).toBe(false);
    expect(supersedes(s1, undefined)).toBe(true);
  });
});
