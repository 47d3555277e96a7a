/**
 * Audit messages carried by the signaling server's relay, for when the owner has no data channel to
 * a partner (the service worker with no page open: workers have no WebRTC). Each message is the
 * body of one end-to-end signed relay envelope (`src/p2p/relay.ts`, signed under
 * {@link AUDIT_RELAY_LABEL}), so sender, recipient, freshness and uniqueness are checked there;
 * this module only encodes and decodes bodies, and splits and reassembles answers, which are larger
 * than one relayed message (~23 KiB against ~16 KiB).
 *
 * Body, version 1 (little-endian as every core format):
 *   1   version = 0x01
 *   1   kind: 1 challenge, 2 answer part
 *   16  challenge nonce (names the round; the answer signs it too)
 *   challenge:   u8 item count (1..64), per item: 32 shard id, u8 leaf count (1..64),
 *                leaf count × u32 leaf index; at most 64 leaves in all
 *   answer part: u8 part index, u8 part count (1..8), u32 total answer bytes (≤ 64 KiB),
 *                then the part's bytes (at least 1) to the end
 *
 * The answer carried in the parts is the holder-signed answer of `answer.ts`, bound to the nonce:
 * the relay adds no trust of its own to it.
 */
import { BinaryReader, BinaryWriter } from '../encoding/binary.ts';
import { fromHex, toHex } from '../encoding/bytes.ts';
import { InvalidArgumentError, MalformedError, UnsupportedVersionError } from '../errors.ts';
import type { ShardChallenge } from './sampler.ts';

/** Domain-separation label of relayed audit envelopes (distinct from other relayed messages). */
export const AUDIT_RELAY_LABEL = 'backpact/v1/audit-relay';
/** Most leaves a relayed challenge may ask (as over a link, `MAX_AUDIT_LEAVES`). */
export const AUDIT_RELAY_MAX_LEAVES = 64;
/** Largest answer carried by the relay. */
export const AUDIT_RELAY_MAX_ANSWER_BYTES = 64 * 1024;
/** Most parts one answer is split into. */
export const AUDIT_RELAY_MAX_PARTS = 8;
/** Bytes of an answer part's header. */
export const AUDIT_RELAY_PART_HEADER_BYTES = 1 + 1 + 16 + 1 + 1 + 4;

const VERSION = 1;
const KIND_CHALLENGE = 1;
const KIND_PART = 2;
const FORMAT = 'relayed audit message';
const SHARD_ID = /^[0-9a-f]{64}$/;

/** A relayed audit message. */
export type AuditRelayMessage =
  | { kind: 'challenge'; nonce: Uint8Array; items: ShardChallenge[] }
  | { kind: 'answer-part'; nonce: Uint8Array; index: number; count: number; total: number; bytes: Uint8Array };

/** Encodes a message body. Throws {@link InvalidArgumentError} on what could not be decoded again. */
export function encodeAuditRelay(m: AuditRelayMessage): Uint8Array {
  if (m.nonce.length !== 16) throw new InvalidArgumentError('the nonce is 16 bytes');
  const w = new BinaryWriter().u8(VERSION);
  if (m.kind === 'challenge') {
    const total = m.items.reduce((n, it) => n + it.leaves.length, 0);
    if (m.items.length === 0 || m.items.length > AUDIT_RELAY_MAX_LEAVES || total > AUDIT_RELAY_MAX_LEAVES) {
      throw new InvalidArgumentError(`a challenge asks 1 to ${AUDIT_RELAY_MAX_LEAVES} leaves`);
    }
    w.u8(KIND_CHALLENGE).raw(m.nonce).u8(m.items.length);
    for (const it of m.items) {
      if (!SHARD_ID.test(it.shard)) throw new InvalidArgumentError('a shard id is 64 lower-case hex digits');
      if (it.leaves.length === 0) throw new InvalidArgumentError('every shard of a challenge asks at least one leaf');
      w.raw(fromHex(it.shard)).u8(it.leaves.length);
      for (const l of it.leaves) {
        if (!Number.isInteger(l) || l < 0 || l > 0xffff_ffff) throw new InvalidArgumentError('a leaf index is a u32');
        w.u32(l);
      }
    }
    return w.finish();
  }
  if (m.count < 1 || m.count > AUDIT_RELAY_MAX_PARTS || m.index < 0 || m.index >= m.count || !Number.isInteger(m.index) || !Number.isInteger(m.count)) {
    throw new InvalidArgumentError('bad part numbering');
  }
  if (m.total < 1 || m.total > AUDIT_RELAY_MAX_ANSWER_BYTES || m.bytes.length === 0 || m.bytes.length > m.total) {
    throw new InvalidArgumentError('bad part length');
  }
  return w.u8(KIND_PART).raw(m.nonce).u8(m.index).u8(m.count).u32(m.total).raw(m.bytes).finish();
}

/** Decodes a body. Throws {@link MalformedError} or {@link UnsupportedVersionError}; never anything else. */
export function decodeAuditRelay(bytes: Uint8Array): AuditRelayMessage {
  const r = new BinaryReader(bytes, FORMAT);
  const version = r.u8();
  if (version !== VERSION) throw new UnsupportedVersionError(FORMAT, version);
  const kind = r.u8();
  const nonce = r.raw(16).slice();
  if (kind === KIND_CHALLENGE) {
    const n = r.u8();
    if (n === 0) throw new MalformedError(FORMAT, 'a challenge has no shard');
    const items: ShardChallenge[] = [];
    let total = 0;
    for (let i = 0; i < n; i++) {
      const shard = toHex(r.raw(32));
      const m = r.u8();
      if (m === 0) throw new MalformedError(FORMAT, 'a challenged shard has no leaf');
      total += m;
      if (total > AUDIT_RELAY_MAX_LEAVES) throw new MalformedError(FORMAT, `more than ${AUDIT_RELAY_MAX_LEAVES} leaves`);
      const leaves: number[] = [];
      for (let j = 0; j < m; j++) leaves.push(r.u32());
      items.push({ shard, leaves });
    }
    r.end();
    return { kind: 'challenge', nonce, items };
  }
  if (kind === KIND_PART) {
    const index = r.u8();
    const count = r.u8();
    const total = r.u32();
    if (count === 0 || count > AUDIT_RELAY_MAX_PARTS || index >= count) throw new MalformedError(FORMAT, 'bad part numbering');
    if (total === 0 || total > AUDIT_RELAY_MAX_ANSWER_BYTES) throw new MalformedError(FORMAT, 'bad answer length');
    const part = r.raw(r.remaining).slice();
    if (part.length === 0 || part.length > total) throw new MalformedError(FORMAT, 'bad part length');
    return { kind: 'answer-part', nonce, index, count, total, bytes: part };
  }
  throw new MalformedError(FORMAT, `unknown kind ${kind}`);
}

/**
 * Splits an answer into parts whose encoded bodies are at most `maxBodyBytes` each. Throws
 * {@link InvalidArgumentError} when it needs more than {@link AUDIT_RELAY_MAX_PARTS}.
 */
export function splitAnswer(nonce: Uint8Array, answer: Uint8Array, maxBodyBytes: number): Uint8Array[] {
  const size = maxBodyBytes - AUDIT_RELAY_PART_HEADER_BYTES;
  if (size < 1) throw new InvalidArgumentError('the relayed body limit is too small');
  if (answer.length === 0 || answer.length > AUDIT_RELAY_MAX_ANSWER_BYTES) throw new InvalidArgumentError('the answer is empty or too large to relay');
  const count = Math.ceil(answer.length / size);
  if (count > AUDIT_RELAY_MAX_PARTS) throw new InvalidArgumentError(`the answer needs ${count} parts (at most ${AUDIT_RELAY_MAX_PARTS})`);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    out.push(encodeAuditRelay({ kind: 'answer-part', nonce, index: i, count, total: answer.length, bytes: answer.subarray(i * size, (i + 1) * size) }));
  }
  return out;
}

/**
 * Puts one answer back together from its parts (from one sender; keep one assembler per sender).
 * Parts may come in any order and more than once (the first copy of each index counts). A part of
 * another round, or parts that disagree on the answer's size, throw {@link MalformedError}.
 */
export class AnswerAssembler {
  readonly #parts = new Map<number, Uint8Array>();
  #count = 0;
  #total = 0;

  constructor(private readonly nonce: Uint8Array) {}

  /** Adds a part; resolves the whole answer once every part is in, else null. */
  add(part: Extract<AuditRelayMessage, { kind: 'answer-part' }>): Uint8Array | null {
    if (part.nonce.length !== this.nonce.length || part.nonce.some((b, i) => b !== this.nonce[i])) throw new MalformedError(FORMAT, 'a part of another round');
    if (this.#count === 0) {
      this.#count = part.count;
      this.#total = part.total;
    } else if (part.count !== this.#count || part.total !== this.#total) {
      throw new MalformedError(FORMAT, 'parts disagree on the answer size');
    }
    if (!this.#parts.has(part.index)) this.#parts.set(part.index, part.bytes);
    if (this.#parts.size < this.#count) return null;
    const out = new Uint8Array(this.#total);
    let at = 0;
    for (let i = 0; i < this.#count; i++) {
      const p = this.#parts.get(i)!;
      if (at + p.length > this.#total) throw new MalformedError(FORMAT, 'parts longer than the answer');
      out.set(p, at);
      at += p.length;
    }
    if (at !== this.#total) throw new MalformedError(FORMAT, 'parts shorter than the answer');
    return out;
  }
}
