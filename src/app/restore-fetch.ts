/**
 * Fetching a stripe for a restore: any k shards of a pack, from whichever holders are linked now.
 * Every shard is checked against its Merkle root from the manifest before it is used, so a
 * corrupted or substituted shard is detected (and counted, naming the holder) and another
 * holder's shard is asked for instead. Holders with fewer fetches in flight are asked first
 * (before data shards are preferred), so a restore spreads over the partners.
 *
 * A restore may gather a stripe over time: {@link ShardFetcher.gather} starts from shards already
 * kept (fetched earlier, from partners offline now) and takes what the linked holders can give,
 * even fewer than k, so partners who are never online together can still complete a pack.
 */
import { bytesEqual } from '../core/encoding/bytes.ts';
import type { PeerId } from '../core/ids.ts';
import type { PackPlacement } from '../core/manifest/placement.ts';
import { merkleRoot } from '../core/merkle/index.ts';
import { getShard, type BackupPartners } from './backup-partners.ts';

/** Counters a restore shows and tests check. */
export interface FetchCounters {
  /** Stripes gathered (k verified shards each). */
  packs: number;
  /** Shards received (verified or not). */
  shards: number;
  /** Bytes of shards received. */
  bytes: number;
  /** Bytes of shards received, by holder (shows how a restore spread over the partners). */
  bytesByHolder: Record<string, number>;
  /** Shards that failed their Merkle root, by holder. */
  corrupt: Record<string, number>;
  /** Verified shards received, by holder. */
  served: Record<string, number>;
}

/** What {@link ShardFetcher.gather} got for one stripe. */
export interface GatheredStripe {
  /** Shards by index (null where not had); includes the ones passed in. */
  shards: (Uint8Array | null)[];
  /** True when at least k shards are verified. */
  complete: boolean;
  /** Indices fetched (and verified) by this call. */
  fetched: number[];
}

/** True when `bytes` is shard `index` of `placement` (length and Merkle root). */
export function shardMatches(placement: PackPlacement, index: number, bytes: Uint8Array): boolean {
  const s = placement.shards[index];
  return s !== undefined && bytes.length === placement.shardLength && bytesEqual(merkleRoot(bytes), s.merkleRoot);
}

/** Gathers stripes from holders. */
export class ShardFetcher {
  readonly counters: FetchCounters = { packs: 0, shards: 0, bytes: 0, bytesByHolder: {}, corrupt: {}, served: {} };
  readonly #inFlight = new Map<PeerId, number>();
  /** Holders whose shard of a pack failed verification (not asked for it again). */
  readonly #bad = new Set<string>();

  /**
   * Computes a received shard's Merkle root. The default runs on the calling thread; a restore
   * sets one that runs in the worker pool, so the page stays free to receive (the bytes are handed
   * over and back, never copied).
   */
  rootOf: (bytes: Uint8Array) => Promise<{ bytes: Uint8Array; root: Uint8Array }> = (bytes) => Promise.resolve({ bytes, root: merkleRoot(bytes) });

  constructor(private readonly partners: BackupPartners) {}

  /**
   * Resolves the stripe's shards (null where not fetched) with at least k verified ones, or null
   * when the holders linked now cannot give k (try again when another links). Link failures
   * count as "not now"; other errors reject.
   */
  async fetch(placement: PackPlacement, signal?: AbortSignal): Promise<(Uint8Array | null)[] | null> {
    const got = await this.gather(placement, new Map(), signal, false);
    return got.complete ? got.shards : null;
  }

  /**
   * Adds to the shards in `have` (index → verified bytes) what the linked holders can give,
   * stopping at k. With `partial` (the default) it fetches from the linked holders even when they
   * cannot complete the stripe now, so the caller can keep those shards for later; without it,
   * nothing is fetched unless the stripe can be completed.
   */
  async gather(placement: PackPlacement, have: ReadonlyMap<number, Uint8Array>, signal?: AbortSignal, partial = true): Promise<GatheredStripe> {
    const k = placement.dataCount;
    const shards: (Uint8Array | null)[] = placement.shards.map((_, i) => have.get(i) ?? null);
    let count = shards.filter((s) => s !== null).length;
    const fetched: number[] = [];
    const tried = new Set<number>();
    while (count < k) {
      signal?.throwIfAborted();
      const candidates = placement.shards
        .map((s, i) => ({ s, i }))
        .filter(({ s, i }) => s.holder !== null && shards[i] === null && !tried.has(i) && !this.#bad.has(`${placement.packId}/${i}`) && this.partners.link(s.holder));
      if (candidates.length === 0 || (!partial && candidates.length < k - count)) break;
      // The least busy holder first, then data shards (a systematic code rebuilds those without
      // arithmetic). Load comes first: with replication (k = 1) shard 0 always lies with the same
      // partner, so preferring data shards sent every fetch to one link while the others idled;
      // rebuilding from parity costs the pool far less than a channel's time.
      candidates.sort((a, b) => this.#load(a.s.holder!) - this.#load(b.s.holder!) || Number(a.i >= k) - Number(b.i >= k) || a.i - b.i);
      const batch = candidates.slice(0, k - count);
      const results = await Promise.all(batch.map(async ({ s, i }) => {
        tried.add(i);
        const holder = s.holder!;
        const link = this.partners.link(holder);
        if (!link) return false;
        this.#inFlight.set(holder, this.#load(holder) + 1);
        let bytes: Uint8Array | null;
        try {
          bytes = await getShard(link, s.id, signal);
        } catch {
          signal?.throwIfAborted();
          return false;
        } finally {
          this.#inFlight.set(holder, this.#load(holder) - 1);
        }
        if (!bytes) return false;
        this.counters.shards++;
        this.counters.bytes += bytes.length;
        this.counters.bytesByHolder[holder] = (this.counters.bytesByHolder[holder] ?? 0) + bytes.length;
        let ok = bytes.length === placement.shardLength;
        if (ok) {
          const checked = await this.rootOf(bytes);
          bytes = checked.bytes;
          ok = bytesEqual(checked.root, s.merkleRoot);
        }
        if (!ok) {
          this.#bad.add(`${placement.packId}/${i}`);
          this.counters.corrupt[holder] = (this.counters.corrupt[holder] ?? 0) + 1;
          return false;
        }
        this.counters.served[holder] = (this.counters.served[holder] ?? 0) + 1;
        shards[i] = bytes;
        fetched.push(i);
        return true;
      }));
      count += results.filter(Boolean).length;
    }
    const complete = count >= k;
    if (complete) this.counters.packs++;
    return { shards, complete, fetched };
  }

  /**
   * Holders that could still give a shard of `placement` not in `have` but are not linked now
   * (whom an incomplete stripe waits for).
   */
  waitingFor(placement: PackPlacement, have: ReadonlySet<number>): PeerId[] {
    const out = new Set<PeerId>();
    placement.shards.forEach((s, i) => {
      if (s.holder !== null && !have.has(i) && !this.#bad.has(`${placement.packId}/${i}`) && !this.partners.link(s.holder)) out.add(s.holder);
    });
    return [...out];
  }

  #load(holder: PeerId): number {
    return this.#inFlight.get(holder) ?? 0;
  }
}
