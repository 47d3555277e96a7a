/**
 * Audit answers: the leaves asked for and their Merkle paths, signed by the holder. The owner
 * checks every leaf against the Merkle root it kept for that shard; it never needs the data.
 *
 * Answer body, version 1 (binary, little-endian as every core format, sent as the response body
 * so 16 leaves fit in ~23 KiB):
 *   1    version = 0x01
 *   16   challenge nonce (echoed)
 *   4    item count (u32), then per item, in challenge order:
 *          32  shard id (raw bytes of the hex id)
 *          4   leaf count (u32), then per leaf, in challenge order:
 *                4  leaf index (u32)
 *                4  leaf length L (u32, ≤ 1024)
 *                L  leaf bytes
 *                1  path length P, then P × 32 sibling hashes
 *   64   Ed25519 signature, tag "backpact/v1/audit-answer", over every byte before it
 *
 * The signature binds the answer to the holder's identity and to this challenge's nonce, so an
 * answer cannot be replayed for another round or attributed to another partner.
 */
import { BinaryReader, BinaryWriter } from '../encoding/binary.ts';
import { fromHex, toHex } from '../encoding/bytes.ts';
import { MalformedError, UnsupportedVersionError } from '../errors.ts';
import { verifyTagged } from '../keys/identity.ts';
import { MERKLE_LEAF_BYTES } from '../constants.ts';
import { leafCount, MerkleTree, verifyLeaf, type LeafProof } from '../merkle/index.ts';
import type { ShardChallenge } from './sampler.ts';

/** Signature tag of audit answers. */
export const AUDIT_ANSWER_TAG = 'backpact/v1/audit-answer';
const VERSION = 1;
const FORMAT = 'audit answer';

/** One answered shard. */
export interface AnsweredShard {
  shard: string;
  proofs: (LeafProof & { index: number })[];
}

/** The unsigned part of an answer. */
export function encodeAnswerBody(nonce: Uint8Array, items: readonly AnsweredShard[]): Uint8Array {
  const w = new BinaryWriter().u8(VERSION).raw(nonce);
  w.u32(items.length);
  for (const it of items) {
    w.raw(fromHex(it.shard)).u32(it.proofs.length);
    for (const p of it.proofs) {
      w.u32(p.index).u32(p.leaf.length).raw(p.leaf).u8(p.path.length);
      for (const h of p.path) w.raw(h);
    }
  }
  return w.finish();
}

/** Decodes an answer (body + signature). Throws {@link MalformedError} / {@link UnsupportedVersionError}. */
export function decodeAnswer(bytes: Uint8Array): { nonce: Uint8Array; items: AnsweredShard[]; signed: Uint8Array; signature: Uint8Array } {
  if (bytes.length < 1 + 16 + 2 + 64) throw new MalformedError(FORMAT, 'too short');
  if (bytes[0] !== VERSION) throw new UnsupportedVersionError(FORMAT, bytes[0]!);
  const signed = bytes.subarray(0, bytes.length - 64);
  const r = new BinaryReader(signed, FORMAT);
  r.u8();
  const nonce = r.raw(16).slice();
  const n = r.u32();
  const items: AnsweredShard[] = [];
  for (let i = 0; i < n; i++) {
    const shard = toHex(r.raw(32));
    const m = r.u32();
    const proofs: AnsweredShard['proofs'] = [];
    for (let j = 0; j < m; j++) {
      const index = r.u32();
      const len = r.u32();
      if (len > MERKLE_LEAF_BYTES) throw new MalformedError(FORMAT, 'leaf longer than 1 KiB');
      const leaf = r.raw(len).slice();
      const p = r.u8();
      const path: Uint8Array[] = [];
      for (let k = 0; k < p; k++) path.push(r.raw(32).slice());
      proofs.push({ index, leaf, path });
    }
    items.push({ shard, proofs });
  }
  r.end();
  return { nonce, items, signed, signature: bytes.slice(bytes.length - 64) };
}

/** What the owner knows about each challenged shard. */
export interface KnownShard {
  root: Uint8Array;
  leaves: number;
}

/** The verdict on one answer. */
export type AuditVerdict =
  | { ok: true }
  | { ok: false; reason: 'bad-signature' | 'wrong-nonce' | 'missing-leaf' | 'wrong-leaf' | 'malformed'; shard?: string; index?: number };

/**
 * Checks an answer against the challenge: the holder's signature, the nonce, that every asked leaf
 * is present in order, and that each verifies against the owner's Merkle root. Never throws.
 */
export function verifyAnswer(
  bytes: Uint8Array,
  holderKey: Uint8Array,
  nonce: Uint8Array,
  challenge: readonly ShardChallenge[],
  known: (shard: string) => KnownShard | undefined,
): AuditVerdict {
  let decoded;
  try {
    decoded = decodeAnswer(bytes);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (!verifyTagged(holderKey, AUDIT_ANSWER_TAG, decoded.signed, decoded.signature)) return { ok: false, reason: 'bad-signature' };
  if (toHex(decoded.nonce) !== toHex(nonce)) return { ok: false, reason: 'wrong-nonce' };
  if (decoded.items.length !== challenge.length) return { ok: false, reason: 'missing-leaf' };
  for (let i = 0; i < challenge.length; i++) {
    const want = challenge[i]!;
    const got = decoded.items[i]!;
    const k = known(want.shard);
    if (got.shard !== want.shard || got.proofs.length !== want.leaves.length || !k) return { ok: false, reason: 'missing-leaf', shard: want.shard };
    for (let j = 0; j < want.leaves.length; j++) {
      const p = got.proofs[j]!;
      if (p.index !== want.leaves[j]) return { ok: false, reason: 'missing-leaf', shard: want.shard, index: want.leaves[j]! };
      if (!verifyLeaf(k.root, p.index, k.leaves, p.leaf, p.path)) return { ok: false, reason: 'wrong-leaf', shard: want.shard, index: p.index };
    }
  }
  return { ok: true };
}

/**
 * Builds a signed answer the way a holder must: from the bytes it actually holds (`read` resolves
 * undefined for a shard it does not have, which is then answered with no proofs), Merkle paths
 * computed over those bytes, signed with `signTagged` under {@link AUDIT_ANSWER_TAG}.
 */
export async function buildAnswer(
  read: (shard: string) => Promise<Uint8Array | undefined>,
  nonce: Uint8Array,
  challenge: readonly ShardChallenge[],
  signTagged: (tag: string, message: Uint8Array) => Promise<Uint8Array>,
): Promise<Uint8Array> {
  const items: AnsweredShard[] = [];
  for (const it of challenge) {
    const bytes = await read(it.shard);
    if (!bytes) {
      items.push({ shard: it.shard, proofs: [] });
      continue;
    }
    const count = leafCount(bytes.length);
    const tree = MerkleTree.build(bytes);
    items.push({ shard: it.shard, proofs: it.leaves.filter((i) => i < count).map((index) => ({ index, ...tree.prove(index) })) });
  }
  const body = encodeAnswerBody(nonce, items);
  const sig = await signTagged(AUDIT_ANSWER_TAG, body);
  const answer = new Uint8Array(body.length + sig.length);
  answer.set(body);
  answer.set(sig, body.length);
  return answer;
}
