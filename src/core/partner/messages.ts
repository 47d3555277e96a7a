/**
 * Application messages between partners, carried as request/response headers over a bound peer
 * link (`src/p2p/link.ts` guarantees only `{ type: string, ...json }`). Each request type has one
 * response type; bulk bytes (shards) travel as the request or response body. Every parser here
 * takes untrusted input and throws {@link MalformedError} naming the problem.
 *
 * Version: the link's `hello` carries the protocol version; these messages are version 1.
 */
import { MalformedError } from '../errors.ts';

/** Largest shard a holder accepts in one put: a 16 MiB pack split into one data shard, plus padding. */
export const MAX_SHARD_BYTES = 17 * 1024 * 1024;
/** Largest signed root record accepted (it lists snapshots and partners, never file data). */
export const MAX_ROOT_RECORD_BYTES = 48 * 1024;
/** Most shard ids in one delete or list. */
export const MAX_IDS_PER_MESSAGE = 1024;
/**
 * Shard ids an owner puts in one `shard.delete`, and entries a holder puts in one `shard.listing`
 * page: either header must fit one 64 KiB link frame (a 64-hex id is ~67 bytes of JSON).
 */
export const SHARD_PAGE = 500;

/** Refusal codes a holder answers with (the link's `RequestRefusedError.replyCode`). */
export const REFUSAL = {
  noAgreement: 'no-agreement',
  quotaExceeded: 'quota-exceeded',
  deviceFull: 'device-storage-full',
  notFound: 'not-found',
  badRequest: 'bad-request',
  stale: 'stale',
  declined: 'declined',
} as const;

/** Requests a partner may send. */
export type PartnerRequest =
  | { type: 'partner.hello'; name: string }
  | { type: 'agreement.offer'; terms: unknown }
  | { type: 'agreement.final'; signed: unknown }
  /** `root`: the shard's Merkle root (hex), so the holder can check it without the owner (scrub). */
  | { type: 'shard.put'; owner?: undefined; shard: string; size: number; root?: string }
  | { type: 'shard.get'; shard: string }
  | { type: 'shard.delete'; shards: string[] }
  /** A page of the held shards, in shard id order, after `after` (from the start without it). */
  | { type: 'shard.list'; after?: string }
  | { type: 'root.put'; record: string }
  | { type: 'root.get' }
  /** Open pool: the asker passed over this listed peer, so the temporary link can go. */
  | { type: 'pool.bye' }
  | { type: 'audit.challenge'; nonce: string; items: { shard: string; leaves: number[] }[] }
  /** Owner → holder: the owner's verdict on the holder's health (signed, see core `healthNoticeBytes`). */
  | { type: 'health.warning'; level: HealthLevel; since: number | null; dropAt: number | null; at: number; sig: string }
  /** Holder → owner: shards its self-check found damaged (answered `holder.damage-noted`). */
  | { type: 'holder.damage'; shards: string[]; at: number };

/** Levels of a `health.warning` (core `WarningLevel`). */
export type HealthLevel = 'ok' | 'unreachable' | 'failing' | 'dropped';
const HEALTH_LEVELS: readonly HealthLevel[] = ['ok', 'unreachable', 'failing', 'dropped'];
/** Largest Unix ms time accepted in health messages (year 2286). */
const MAX_TIME_MS = 10_000_000_000_000;

/** Most leaves one audit challenge may ask (16 per round by default; room for larger rounds). */
export const MAX_AUDIT_LEAVES = 64;

/** The answer to `agreement.offer`. */
export type OfferReply =
  | { type: 'agreement.reply'; decision: 'accept'; sig: string }
  | { type: 'agreement.reply'; decision: 'counter'; terms: unknown }
  | { type: 'agreement.reply'; decision: 'decline'; reason: string };

type Json = Record<string, unknown>;

function fail(reason: string): never {
  throw new MalformedError('partner message', reason);
}

function str(o: Json, key: string, re: RegExp): string {
  const v = o[key];
  if (typeof v !== 'string' || !re.test(v)) fail(`${key} is not valid`);
  return v;
}

function int(o: Json, key: string, min: number, max: number): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) fail(`${key} must be an integer from ${min} to ${max}`);
  return v;
}

const SHARD_ID = /^[0-9a-f]{64}$/;
const B64URL = /^[A-Za-z0-9_-]*$/;

/** Parses a request header from a partner. Unknown types are malformed. */
export function parsePartnerRequest(x: unknown): PartnerRequest {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) fail('not an object');
  const o = x as Json;
  switch (o.type) {
    case 'partner.hello': {
      const name = o.name;
      if (typeof name !== 'string' || name.length < 1 || name.length > 64) fail('name must be 1 to 64 characters');
      return { type: 'partner.hello', name };
    }
    case 'agreement.offer':
      if (typeof o.terms !== 'object' || o.terms === null) fail('terms missing');
      return { type: 'agreement.offer', terms: o.terms };
    case 'agreement.final':
      if (typeof o.signed !== 'object' || o.signed === null) fail('signed agreement missing');
      return { type: 'agreement.final', signed: o.signed };
    case 'shard.put': {
      const put: PartnerRequest = { type: 'shard.put', shard: str(o, 'shard', SHARD_ID), size: int(o, 'size', 0, MAX_SHARD_BYTES) };
      if (o.root !== undefined) put.root = str(o, 'root', SHARD_ID);
      return put;
    }
    case 'shard.get':
      return { type: 'shard.get', shard: str(o, 'shard', SHARD_ID) };
    case 'shard.delete': {
      const shards = o.shards;
      if (!Array.isArray(shards) || shards.length > MAX_IDS_PER_MESSAGE || !shards.every((s) => typeof s === 'string' && SHARD_ID.test(s))) {
        fail(`shards must be at most ${MAX_IDS_PER_MESSAGE} shard ids`);
      }
      return { type: 'shard.delete', shards: shards as string[] };
    }
    case 'shard.list':
      return o.after === undefined ? { type: 'shard.list' } : { type: 'shard.list', after: str(o, 'after', SHARD_ID) };
    case 'root.put': {
      const record = str(o, 'record', B64URL);
      if (record.length > Math.ceil((MAX_ROOT_RECORD_BYTES * 4) / 3)) fail('root record too large');
      return { type: 'root.put', record };
    }
    case 'root.get':
      return { type: 'root.get' };
    case 'pool.bye':
      return { type: 'pool.bye' };
    case 'audit.challenge': {
      const nonce = str(o, 'nonce', /^[A-Za-z0-9_-]{22}$/);
      const items = o.items;
      if (!Array.isArray(items) || items.length === 0) fail('items must be a non-empty array');
      let total = 0;
      const parsed = items.map((it: unknown) => {
        if (typeof it !== 'object' || it === null) fail('item must be an object');
        const item = it as Json;
        const shard = str(item, 'shard', SHARD_ID);
        const leaves = item.leaves;
        if (!Array.isArray(leaves) || leaves.length === 0 || !leaves.every((l) => Number.isSafeInteger(l) && (l as number) >= 0 && (l as number) < 2 ** 24)) {
          fail('leaves must be leaf indices');
        }
        total += leaves.length;
        return { shard, leaves: leaves as number[] };
      });
      if (total > MAX_AUDIT_LEAVES) fail(`at most ${MAX_AUDIT_LEAVES} leaves per challenge`);
      return { type: 'audit.challenge', nonce, items: parsed };
    }
    case 'health.warning': {
      const level = o.level;
      if (typeof level !== 'string' || !HEALTH_LEVELS.includes(level as HealthLevel)) fail('level is not valid');
      const since = o.since === null ? null : int(o, 'since', 0, MAX_TIME_MS);
      const dropAt = o.dropAt === null ? null : int(o, 'dropAt', 0, MAX_TIME_MS);
      if ((level === 'ok') !== (since === null)) fail('since must be null exactly for ok');
      if (level !== 'unreachable' && level !== 'failing' && dropAt !== null) fail('dropAt is only for unreachable and failing');
      return { type: 'health.warning', level: level as HealthLevel, since, dropAt, at: int(o, 'at', 0, MAX_TIME_MS), sig: str(o, 'sig', /^[0-9a-f]{128}$/) };
    }
    case 'holder.damage': {
      const shards = o.shards;
      if (!Array.isArray(shards) || shards.length === 0 || shards.length > MAX_IDS_PER_MESSAGE || !shards.every((s) => typeof s === 'string' && SHARD_ID.test(s))) {
        fail(`shards must be 1 to ${MAX_IDS_PER_MESSAGE} shard ids`);
      }
      return { type: 'holder.damage', shards: [...new Set(shards as string[])], at: int(o, 'at', 0, MAX_TIME_MS) };
    }
    default:
      fail(`unknown request type ${JSON.stringify(String(o.type)).slice(0, 40)}`);
  }
}

/** Parses the answer to an offer. */
export function parseOfferReply(x: unknown): OfferReply {
  if (typeof x !== 'object' || x === null) fail('not an object');
  const o = x as Json;
  if (o.type !== 'agreement.reply') fail('not an agreement reply');
  switch (o.decision) {
    case 'accept':
      return { type: 'agreement.reply', decision: 'accept', sig: str(o, 'sig', /^[0-9a-f]{128}$/) };
    case 'counter':
      if (typeof o.terms !== 'object' || o.terms === null) fail('counter terms missing');
      return { type: 'agreement.reply', decision: 'counter', terms: o.terms };
    case 'decline':
      return { type: 'agreement.reply', decision: 'decline', reason: typeof o.reason === 'string' ? o.reason.slice(0, 200) : '' };
    default:
      fail('unknown decision');
  }
}

/** The holder's answers the owner's backup and restore read (one per request type). */
export type HolderReply =
  | { type: 'shard.stored'; shard: string }
  | { type: 'shard.data'; size: number }
  | { type: 'root.stored'; seq: number }
  | { type: 'root.record'; record: string | null }
  | { type: 'shard.deleted'; count: number }
  /** `storedAt` (Unix ms) is absent from holders that predate it; `more` when another page follows. */
  | { type: 'shard.listing'; shards: { shard: string; size: number; storedAt?: number }[]; used: number; allowed: number | null; more: boolean };

/**
 * Parses a holder's answer, which must be of type `expected` (the answer to the request sent).
 * Throws {@link MalformedError}: a wrong type, a bad shard id, size or seq, or a record that is
 * not base64url or is too large.
 */
export function parseHolderReply<T extends HolderReply['type']>(expected: T, x: unknown): Extract<HolderReply, { type: T }> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) fail('not an object');
  const o = x as Json;
  if (o.type !== expected) fail(`expected ${expected}, got ${JSON.stringify(String(o.type)).slice(0, 40)}`);
  let reply: HolderReply;
  switch (expected as HolderReply['type']) {
    case 'shard.stored':
      reply = { type: 'shard.stored', shard: str(o, 'shard', SHARD_ID) };
      break;
    case 'shard.data':
      reply = { type: 'shard.data', size: int(o, 'size', 0, MAX_SHARD_BYTES) };
      break;
    case 'root.stored':
      reply = { type: 'root.stored', seq: int(o, 'seq', 0, Number.MAX_SAFE_INTEGER) };
      break;
    case 'root.record': {
      if (o.record === null) {
        reply = { type: 'root.record', record: null };
        break;
      }
      const record = str(o, 'record', B64URL);
      if (record.length > Math.ceil((MAX_ROOT_RECORD_BYTES * 4) / 3)) fail('root record too large');
      reply = { type: 'root.record', record };
      break;
    }
    case 'shard.deleted':
      reply = { type: 'shard.deleted', count: int(o, 'count', 0, MAX_IDS_PER_MESSAGE) };
      break;
    case 'shard.listing': {
      const list = o.shards;
      if (!Array.isArray(list) || list.length > MAX_IDS_PER_MESSAGE) fail(`shards must be a list of at most ${MAX_IDS_PER_MESSAGE} entries`);
      const shards = list.map((e: unknown) => {
        if (!Array.isArray(e) || e.length < 2) fail('a listing entry must be [shard, size, storedAt?]');
        const entry = { shard: e[0], size: e[1], storedAt: e[2] } as Json;
        const out: { shard: string; size: number; storedAt?: number } = { shard: str(entry, 'shard', SHARD_ID), size: int(entry, 'size', 0, MAX_SHARD_BYTES) };
        if (entry.storedAt !== undefined && entry.storedAt !== null) out.storedAt = int(entry, 'storedAt', 0, Number.MAX_SAFE_INTEGER);
        return out;
      });
      const allowed = o.allowed === null ? null : int(o, 'allowed', 0, Number.MAX_SAFE_INTEGER);
      reply = { type: 'shard.listing', shards, used: int(o, 'used', 0, Number.MAX_SAFE_INTEGER), allowed, more: o.more === true };
      break;
    }
    default:
      fail('unknown reply type');
  }
  return reply as Extract<HolderReply, { type: T }>;
}

/** Answers to the health messages. */
export type HealthReply = { type: 'health.noted' } | { type: 'holder.damage-noted'; count: number };

/** Parses the answer to `health.warning` or `holder.damage`. Throws {@link MalformedError}. */
export function parseHealthReply<T extends HealthReply['type']>(expected: T, x: unknown): Extract<HealthReply, { type: T }> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) fail('not an object');
  const o = x as Json;
  if (o.type !== expected) fail(`expected ${expected}, got ${JSON.stringify(String(o.type)).slice(0, 40)}`);
  const reply: HealthReply = expected === 'health.noted' ? { type: 'health.noted' } : { type: 'holder.damage-noted', count: int(o, 'count', 0, MAX_IDS_PER_MESSAGE) };
  return reply as Extract<HealthReply, { type: T }>;
}
