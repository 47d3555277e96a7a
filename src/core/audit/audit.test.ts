import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../encoding/bytes.ts';
import { signTagged } from '../keys/identity.ts';
import { leafCount, merkleRoot, proveLeaf } from '../merkle/index.ts';
import {
  AUDIT_ANSWER_TAG, CoverageMemory, DROP_AFTER_FAILURES, drawChallenge, encodeAnswerBody, healthState, initialHealth,
  recordAudit, recordReachable, recordUnreachable, score, verifyAnswer, warningDue, type AuditableShard, type RandomInt,
} from './index.ts';

/** A seeded uniform integer generator (xorshift128+ style), so the Monte-Carlo runs are repeatable. */
function seeded(seed: number): RandomInt {
  let a = seed >>> 0 || 1;
  let b = (seed * 2654435761) >>> 0 || 2;
  return (n) => {
    let t = a;
    const s = b;
    a = s;
    t ^= t << 11;
    t ^= t >>> 8;
    b = (t ^ s ^ (s >>> 19)) >>> 0;
    // 53-bit-ish uniform from two steps is overkill here; 32 bits scaled is unbiased enough for n ≪ 2^32.
    return Math.floor(((b >>> 0) / 2 ** 32) * n);
  };
}

describe('audit sampler: detection of lost data (Monte-Carlo, 10,000 trials each)', () => {
  const SHARDS: AuditableShard[] = Array.from({ length: 8 }, (_, i) => ({ shard: i.toString(16).padStart(64, '0'), leaves: 512 }));
  const TOTAL = 8 * 512;
  const cases: [number, number][] = [[0.01, 43], [0.05, 9], [0.1, 5], [0.5, 1]];

  for (const [f, K] of cases) {
    it(`with ${f * 100} % of leaves lost, c = 16 catches it within ${K} rounds in ≥ 99.9 % of trials`, () => {
      const random = seeded(Math.round(f * 1e6) + 17);
      const lostCount = Math.round(f * TOTAL);
      let detected = 0;
      const TRIALS = 10_000;
      for (let t = 0; t < TRIALS; t++) {
        // A fresh random set of lost leaves per trial (global leaf numbers).
        const lost = new Set<number>();
        while (lost.size < lostCount) lost.add(random(TOTAL));
        const memory = new CoverageMemory();
        let caught = false;
        for (let round = 0; round < K && !caught; round++) {
          const challenge = drawChallenge(SHARDS, random, 16, memory);
          for (const c of challenge) {
            const base = parseInt(c.shard, 16) * 512;
            if (c.leaves.some((l) => lost.has(base + l))) caught = true;
          }
        }
        if (caught) detected++;
      }
      expect(detected / TRIALS).toBeGreaterThanOrEqual(0.999);
    });
  }

  it('asks distinct leaves within a round, in range, spread over shards by size', () => {
    const random = seeded(5);
    const shards: AuditableShard[] = [{ shard: 'a'.repeat(64), leaves: 3 }, { shard: 'b'.repeat(64), leaves: 1000 }];
    let small = 0;
    for (let r = 0; r < 500; r++) {
      const ch = drawChallenge(shards, random);
      const all = ch.flatMap((c) => c.leaves.map((l) => `${c.shard}:${l}`));
      expect(new Set(all).size).toBe(16);
      for (const c of ch) {
        const max = c.shard === 'a'.repeat(64) ? 3 : 1000;
        expect(c.leaves.every((l) => l >= 0 && l < max)).toBe(true);
        if (c.shard === 'a'.repeat(64)) small += c.leaves.length;
      }
    }
    // 3 of 1003 leaves: about 0.3 % of 8,000 asks (coverage makes it exact per cycle, not random).
    expect(small).toBeGreaterThan(5);
    expect(small).toBeLessThan(60);
  });

  it('covers the whole holding before asking a leaf again', () => {
    const shards: AuditableShard[] = [{ shard: 'c'.repeat(64), leaves: 64 }];
    const memory = new CoverageMemory();
    const seen = new Set<number>();
    for (let r = 0; r < 4; r++) for (const c of drawChallenge(shards, seeded(r + 1), 16, memory)) for (const l of c.leaves) seen.add(l);
    expect(seen.size).toBe(64);
  });
});

describe('audit answers', () => {
  const holderSecret = new Uint8Array(32).fill(9);
  const holderKey = ed25519.getPublicKey(holderSecret);
  const shard = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) & 0xff);
  const shardId = 'd'.repeat(64);
  const root = merkleRoot(shard);
  const known = (id: string) => (id === shardId ? { root, leaves: leafCount(shard.length) } : undefined);
  const nonce = new Uint8Array(16).fill(3);
  const challenge = [{ shard: shardId, leaves: [0, 2, 4] }];

  function answer(data: Uint8Array, n = nonce, leaves = challenge[0]!.leaves, secret = holderSecret): Uint8Array {
    const body = encodeAnswerBody(n, [{ shard: shardId, proofs: leaves.map((i) => ({ index: i, ...proveLeaf(data, i) })) }]);
    const sig = signTagged(secret, AUDIT_ANSWER_TAG, body);
    const out = new Uint8Array(body.length + 64);
    out.set(body);
    out.set(sig, body.length);
    return out;
  }

  it('accepts a correct answer, and its size stays small', () => {
    const a = answer(shard);
    expect(verifyAnswer(a, holderKey, nonce, challenge, known)).toEqual({ ok: true });
    expect(a.length).toBeLessThan(4 * 1024);
  });

  it('catches leaves from another shard, a stale nonce, a missing leaf, a forged signature and garbage', () => {
    // Proofs computed over another shard's bytes (a holder answering from the wrong shard).
    const other = Uint8Array.from({ length: 5000 }, (_, i) => (i * 11) & 0xff);
    expect(verifyAnswer(answer(other), holderKey, nonce, challenge, known)).toMatchObject({ ok: false, reason: 'wrong-leaf', index: 0 });
    // Genuine paths, but the last leaf's bytes are an older version of it (stale data).
    const proofs = challenge[0]!.leaves.map((i) => ({ index: i, ...proveLeaf(shard, i) }));
    const staleLeaf = proofs[2]!.leaf.slice();
    staleLeaf[5]! ^= 1;
    proofs[2] = { ...proofs[2]!, leaf: staleLeaf };
    const body = encodeAnswerBody(nonce, [{ shard: shardId, proofs }]);
    const staleAnswer = new Uint8Array([...body, ...signTagged(holderSecret, AUDIT_ANSWER_TAG, body)]);
    expect(verifyAnswer(staleAnswer, holderKey, nonce, challenge, known)).toMatchObject({ ok: false, reason: 'wrong-leaf', index: 4 });
    expect(verifyAnswer(answer(shard, new Uint8Array(16)), holderKey, nonce, challenge, known)).toMatchObject({ ok: false, reason: 'wrong-nonce' });
    expect(verifyAnswer(answer(shard, nonce, [0, 2]), holderKey, nonce, challenge, known)).toMatchObject({ ok: false, reason: 'missing-leaf' });
    expect(verifyAnswer(answer(shard, nonce, [0, 2, 4], new Uint8Array(32).fill(1)), holderKey, nonce, challenge, known)).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(verifyAnswer(new Uint8Array(10), holderKey, nonce, challenge, known)).toMatchObject({ ok: false, reason: 'malformed' });
    const flipped = answer(shard);
    flipped[40]! ^= 0xff;
    expect(verifyAnswer(flipped, holderKey, nonce, challenge, known).ok).toBe(false);
  });

  it('ids survive the hex round trip used on the wire', () => {
    expect(toHex(fromHex(shardId))).toBe(shardId);
  });
});

describe('partner health', () => {
  const DAY = 86_400_000;
  const grace = 14 * 86_400;

  it('a partner that is only offline is never failing inside the grace period', () => {
    let h = recordAudit(initialHealth(), true, 0);
    h = recordUnreachable(h, DAY);
    for (let t = DAY; t <= DAY + 14 * DAY; t += DAY / 4) {
      h = recordUnreachable(h, t);
      expect(healthState(h, t, grace)).toBe('unreachable');
    }
    expect(healthState(h, DAY + 14 * DAY + 1, grace)).toBe('dropped');
    expect(warningDue(h, DAY + 8 * DAY, grace)).toBe(true);
    expect(warningDue(h, DAY + 6 * DAY, grace)).toBe(false);
    expect(healthState(recordReachable(h), DAY * 20, grace)).toBe('healthy');
  });

  it('a wrong answer makes a partner failing at once, repeated ones drop it', () => {
    let h = initialHealth();
    for (let i = 0; i < 10; i++) h = recordAudit(h, true, i);
    expect(healthState(h, 10, grace)).toBe('healthy');
    h = recordAudit(h, false, 11);
    expect(healthState(h, 11, grace)).toBe('failing');
    expect(warningDue(h, 11, grace)).toBe(true);
    for (let i = 1; i < DROP_AFTER_FAILURES; i++) h = recordAudit(h, false, 11 + i);
    expect(healthState(h, 20, grace)).toBe('dropped');
  });

  it('the score rises with passes and falls with failures', () => {
    const good = [1, 2, 3, 4, 5].reduce((h, t) => recordAudit(h, true, t), initialHealth());
    const bad = [1, 2].reduce((h, t) => recordAudit(h, false, t), good);
    expect(score(good)).toBeGreaterThan(0.8);
    expect(score(bad)).toBeLessThan(score(good));
  });
});
