/**
 * Holder self-check ("scrub", docs/DESIGN.md §8 "Holder self-check (scrub)"): a holder re-reads
 * the shards it keeps for partners, recomputes each one's Merkle root and compares it with the
 * root the owner sent with the shard. A mismatch is local damage: the shard is marked (and no
 * longer served) and reported to its owner, instead of waiting for an audit to catch it.
 *
 * Work is done in passes over every held shard in (owner, shard) order, in batches bounded by
 * bytes read, from a position the adapter persists, so a pass survives the worker or page being
 * stopped and never hashes more than one batch at a time. A new pass starts
 * {@link SCRUB_PASS_EVERY_MS} after the previous one ended.
 */
import { toHex } from '../encoding/bytes.ts';
import { merkleRoot } from '../merkle/index.ts';
import type { HolderStore } from './holder-store.ts';

/** Time from the end of one pass to the start of the next. */
export const SCRUB_PASS_EVERY_MS = 24 * 3600_000;
/** Bytes one batch reads and hashes at most (one shard more if a single shard is larger). */
export const SCRUB_BATCH_BYTES = 64 * 1024 * 1024;

/** Persisted progress (`kv/scrub/state`). */
export interface ScrubState {
  v: 1;
  /** Last shard checked in the running pass; null before the first of a pass. */
  after: [string, string] | null;
  /** Unix ms the running pass started; null between passes. */
  passStartedAt: number | null;
  /** Unix ms the last pass ended; null before any. */
  lastPassEndedAt: number | null;
  /** Shards checked and found damaged in the running (or, between passes, the last) pass. */
  checked: number;
  damaged: number;
}

/** A shard found damaged. */
export interface DamageFound {
  owner: string;
  shard: string;
}

/** The outcome of one batch. */
export interface ScrubBatchResult {
  state: ScrubState;
  /** Shards found damaged by this batch (to report to their owners). */
  found: DamageFound[];
  /** Shards hashed by this batch. */
  checked: number;
  /** True when this batch finished a pass. */
  passDone: boolean;
}

/** State before any scrub. */
export function initialScrubState(): ScrubState {
  return { v: 1, after: null, passStartedAt: null, lastPassEndedAt: null, checked: 0, damaged: 0 };
}

/** Options of {@link scrubBatch}. */
export interface ScrubOptions {
  /** Bytes to hash at most (default {@link SCRUB_BATCH_BYTES}). */
  maxBytes?: number;
  /** Start a pass now even if the next one is not due (a person or a test asked). */
  force?: boolean;
  /** Pause between passes (default {@link SCRUB_PASS_EVERY_MS}). */
  passEveryMs?: number;
}

/**
 * Runs one batch of the self-check over `store` from `state`; resolves the next state (to be
 * persisted by the caller) and the damage found. Does nothing between passes unless due or forced.
 * A shard already marked damaged is skipped (it stays damaged until the owner re-puts it); a shard
 * that came without a root gets the root of its first scrub as a baseline, so only damage after
 * that first scrub can be detected for it.
 */
export async function scrubBatch(store: HolderStore, state: ScrubState, now: () => number, opts: ScrubOptions = {}): Promise<ScrubBatchResult> {
  const maxBytes = opts.maxBytes ?? SCRUB_BATCH_BYTES;
  let s: ScrubState = { ...state };
  if (s.passStartedAt === null) {
    const due = s.lastPassEndedAt === null || now() >= s.lastPassEndedAt + (opts.passEveryMs ?? SCRUB_PASS_EVERY_MS);
    if (!due && !opts.force) return { state: s, found: [], checked: 0, passDone: false };
    s = { ...s, after: null, passStartedAt: now(), checked: 0, damaged: 0 };
  }
  const found: DamageFound[] = [];
  let bytes = 0;
  let checked = 0;
  while (bytes < maxBytes) {
    const item = await store.nextForScrub(s.after);
    if (!item) {
      return { state: { ...s, after: null, passStartedAt: null, lastPassEndedAt: now() }, found, checked, passDone: true };
    }
    s.after = [item.owner, item.shard];
    // Read either way: a damaged shard's bytes count toward the batch too, so the batch stays bounded.
    bytes += item.bytes.length;
    if (item.damagedAt !== null) continue;
    checked++;
    const root = toHex(merkleRoot(item.bytes));
    const at = now();
    if (item.merkleRoot === null) {
      await store.recordScrub(item.owner, item.shard, item.storedAt, { at, damaged: false, baselineRoot: root });
      s.checked++;
      continue;
    }
    const damaged = root !== item.merkleRoot;
    const recorded = await store.recordScrub(item.owner, item.shard, item.storedAt, { at, damaged });
    if (!recorded) continue; // replaced or deleted meanwhile: the new version is checked next pass
    s.checked++;
    if (damaged) {
      s.damaged++;
      found.push({ owner: item.owner, shard: item.shard });
    }
  }
  return { state: s, found, checked, passDone: false };
}

/** Adds `shards` to a pending report (ids kept once, in order of discovery). */
export function mergeShardIds(existing: readonly string[], more: readonly string[]): string[] {
  const out = [...existing];
  const seen = new Set(existing);
  for (const s of more) if (!seen.has(s)) {
    seen.add(s);
    out.push(s);
  }
  return out;
}
