import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, MalformedError, UnsupportedVersionError } from '../errors.ts';
import { signTagged } from '../keys/identity.ts';
import { leafCount, merkleRoot } from '../merkle/index.ts';
import { buildAnswer, verifyAnswer } from './answer.ts';
import {
  AnswerAssembler, AUDIT_RELAY_MAX_PARTS, AUDIT_RELAY_PART_HEADER_BYTES, decodeAuditRelay, encodeAuditRelay, splitAnswer, type AuditRelayMessage,
} from './relay.ts';

const nonce = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
const shardA = 'a'.repeat(64);
const shardB = '0123456789abcdef'.repeat(4);
/** The body limit of one relayed message (16 KiB less the envelope, see src/p2p/relay.ts). */
const MAX_BODY = 16 * 1024 - 89 - 64;

type Part = Extract<AuditRelayMessage, { kind: 'answer-part' }>;
const part = (bytes: Uint8Array): Part => decodeAuditRelay(bytes) as Part;

/** A real 16-leaf answer over 4 MiB shards, as a holder builds it (~23 KiB). */
async function realAnswer(): Promise<{ answer: Uint8Array; holderKey: Uint8Array; verify: (a: Uint8Array) => ReturnType<typeof verifyAnswer> }> {
  const secret = ed25519.utils.randomSecretKey();
  const shard = Uint8Array.from({ length: 4 * 1024 * 1024 }, (_, i) => (i * 2654435761) >>> 24);
  const challenge = [{ shard: shardA, leaves: [0, 100, 200, 300, 400, 500, 600, 700] }, { shard: shardB, leaves: [1, 2, 3, 4, 5, 6, 7, 4095] }];
  const answer = await buildAnswer(async () => shard, nonce, challenge, async (tag, m) => signTagged(secret, tag, m));
  const root = merkleRoot(shard);
  const holderKey = ed25519.getPublicKey(secret);
  return { answer, holderKey, verify: (a) => verifyAnswer(a, holderKey, nonce, challenge, () => ({ root, leaves: leafCount(shard.length) })) };
}

describe('relayed audit messages', () => {
  it('encode and decode a challenge', () => {
    const m: AuditRelayMessage = { kind: 'challenge', nonce, items: [{ shard: shardA, leaves: [0, 7, 4_000_000] }, { shard: shardB, leaves: [3] }] };
    const bytes = encodeAuditRelay(m);
    expect(bytes.length).toBe(1 + 1 + 16 + 1 + 2 * (32 + 1) + 4 * 4);
    expect(decodeAuditRelay(bytes)).toEqual(m);
  });

  it('refuse to encode what could not be decoded', () => {
    expect(() => encodeAuditRelay({ kind: 'challenge', nonce: new Uint8Array(15), items: [{ shard: shardA, leaves: [1] }] })).toThrow(InvalidArgumentError);
    expect(() => encodeAuditRelay({ kind: 'challenge', nonce, items: [] })).toThrow(InvalidArgumentError);
    expect(() => encodeAuditRelay({ kind: 'challenge', nonce, items: [{ shard: 'A'.repeat(64), leaves: [1] }] })).toThrow(InvalidArgumentError);
    expect(() => encodeAuditRelay({ kind: 'challenge', nonce, items: [{ shard: shardA, leaves: Array.from({ length: 65 }, (_, i) => i) }] })).toThrow(InvalidArgumentError);
    expect(() => encodeAuditRelay({ kind: 'answer-part', nonce, index: 2, count: 2, total: 10, bytes: new Uint8Array(5) })).toThrow(InvalidArgumentError);
    expect(() => encodeAuditRelay({ kind: 'answer-part', nonce, index: 0, count: 1, total: 4, bytes: new Uint8Array(5) })).toThrow(InvalidArgumentError);
  });

  it('decoding untrusted bytes throws only typed errors', () => {
    const good = encodeAuditRelay({ kind: 'challenge', nonce, items: [{ shard: shardA, leaves: [1, 2] }] });
    for (let n = 0; n < good.length; n++) expect(() => decodeAuditRelay(good.subarray(0, n))).toThrow(MalformedError);
    expect(() => decodeAuditRelay(new Uint8Array([...good, 0]))).toThrow(MalformedError);
    expect(() => decodeAuditRelay(Uint8Array.from([2, ...good.subarray(1)]))).toThrow(UnsupportedVersionError);
    const badKind = good.slice();
    badKind[1] = 9;
    expect(() => decodeAuditRelay(badKind)).toThrow(MalformedError);
    // 64 leaves of one shard, then one more of another: refused before reading the 65th.
    const many = new Uint8Array(1 + 1 + 16 + 1 + (32 + 1 + 64 * 4) + (32 + 1));
    many.set([1, 1], 0);
    many[18] = 2;
    many[19 + 32] = 64;
    many[19 + 33 + 256 + 32] = 1;
    expect(() => decodeAuditRelay(many)).toThrow(/more than 64 leaves/);
    // Parts: index past the count, zero length, longer than announced.
    const p = encodeAuditRelay({ kind: 'answer-part', nonce, index: 0, count: 2, total: 10, bytes: new Uint8Array(5) });
    const wrongIndex = p.slice();
    wrongIndex[18] = 2;
    expect(() => decodeAuditRelay(wrongIndex)).toThrow(MalformedError);
    expect(() => decodeAuditRelay(p.subarray(0, AUDIT_RELAY_PART_HEADER_BYTES))).toThrow(MalformedError);
    const shortTotal = p.slice();
    shortTotal[20] = 4;
    expect(() => decodeAuditRelay(shortTotal)).toThrow(MalformedError);
    // Random garbage never escapes as anything else.
    for (let i = 0; i < 500; i++) {
      const junk = globalThis.crypto.getRandomValues(new Uint8Array(1 + (i % 90)));
      try {
        decodeAuditRelay(junk);
      } catch (err) {
        expect(err instanceof MalformedError || err instanceof UnsupportedVersionError).toBe(true);
      }
    }
  });

  it('a real answer is split to fit the relay and reassembled in any order, duplicates ignored', async () => {
    const { answer, verify } = await realAnswer();
    expect(answer.length).toBeGreaterThan(MAX_BODY);
    const parts = splitAnswer(nonce, answer, MAX_BODY);
    expect(parts).toHaveLength(2);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(MAX_BODY);
    const a = new AnswerAssembler(nonce);
    expect(a.add(part(parts[1]!))).toBeNull();
    expect(a.add(part(parts[1]!))).toBeNull();
    const whole = a.add(part(parts[0]!))!;
    expect(whole).toEqual(answer);
    expect(verify(whole)).toEqual({ ok: true });
  });

  it('the assembler refuses parts of another round or parts that disagree', async () => {
    const { answer } = await realAnswer();
    const parts = splitAnswer(nonce, answer, MAX_BODY).map(part);
    const a = new AnswerAssembler(new Uint8Array(16));
    expect(() => a.add(parts[0]!)).toThrow(/another round/);
    const b = new AnswerAssembler(nonce);
    b.add(parts[0]!);
    expect(() => b.add({ ...parts[1]!, total: parts[1]!.total + 1 })).toThrow(/disagree/);
    // A part shorter than its share: the parts do not add up to the announced answer.
    const c = new AnswerAssembler(nonce);
    c.add(parts[0]!);
    expect(() => c.add({ ...parts[1]!, bytes: parts[1]!.bytes.subarray(1) })).toThrow(/shorter/);
  });

  it('a tampered part makes the answer fail verification, never pass', async () => {
    const { answer, verify } = await realAnswer();
    const parts = splitAnswer(nonce, answer, MAX_BODY).map(part);
    const evil = parts[1]!.bytes.slice();
    evil[100] = evil[100]! ^ 1;
    const a = new AnswerAssembler(nonce);
    a.add(parts[0]!);
    expect(verify(a.add({ ...parts[1]!, bytes: evil })!).ok).toBe(false);
  });

  it('splitting refuses answers that need too many parts', () => {
    expect(() => splitAnswer(nonce, new Uint8Array(0), MAX_BODY)).toThrow(InvalidArgumentError);
    expect(() => splitAnswer(nonce, new Uint8Array(100), AUDIT_RELAY_PART_HEADER_BYTES)).toThrow(InvalidArgumentError);
    const size = 1000;
    expect(splitAnswer(nonce, new Uint8Array(AUDIT_RELAY_MAX_PARTS * (size - AUDIT_RELAY_PART_HEADER_BYTES)), size)).toHaveLength(AUDIT_RELAY_MAX_PARTS);
    expect(() => splitAnswer(nonce, new Uint8Array(AUDIT_RELAY_MAX_PARTS * (size - AUDIT_RELAY_PART_HEADER_BYTES) + 1), size)).toThrow(/parts/);
  });
});
