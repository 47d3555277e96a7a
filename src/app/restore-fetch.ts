/**
 * Fetching a stripe for a restore: any k shards of a pack, from whichever holders are linked now.
 * Every shard is checked against its Merkle root from the manifest before it is used, so a
 * corrupted or substituted shard is detected (and counted, naming the holder) and another
 * holder's shard is asked for instead. Holders with fewer fetches in flight are asked first
 * (before data shards are preferred), so a restore spreads over the partners.
 *
 * A caller whose next step verifies the pack anyway (the restore: pack id, every chunk's GCM tag
 * and HMAC id) may ask for shards `lazy`: shards that complete a stripe are then handed over
 * without their Merkle check, listed in `unchecked`. If that step fails, the caller fetches the
 * stripe again without `lazy`, asking for the same shards first (`prefer`), so the holder that
 * lied is found by its Merkle root and counted; from then on that holder's shards are always
 * checked. Shards of a stripe that stays incomplete (kept for later) are always checked.
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
  /**
   * Verified shards received, by holder: checked against their Merkle root, or (fetched `lazy`)
   * confirmed by the caller with {@link ShardFetcher.confirm} once their pack decoded.
   */
  served: Record<string, number>;
}

/** Options of {@link ShardFetcher.gather}. */
export interface GatherOptions {
  /**
   * Skip the Merkle check of shards that complete the stripe (see the module comment): the caller
   * verifies the decoded pack, and calls {@link ShardFetcher.confirm} or fetches again without it.
   */
  lazy?: boolean;
  /** Indices to ask for before any other (a failed decode's shards, to check their holders). */
  prefer?: ReadonlySet<number>;
}

/** What {@link ShardFetcher.gather} got for one stripe. */
export interface GatheredStripe {
  /** Shards by index (null where not had); includes the ones passed in. */
  shards: (Uint8Array | null)[];
  /** True when at least k shards are verified. */
  complete: boolean;
  /** Indices fetched by this call (verified unless also in `unchecked`). */
  fetched: number[];
  /** Indices fetched `lazy` and not checked against their Merkle roots (only in a complete stripe). */
  unchecked: number[];
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
  /** Holders that served a shard failing its Merkle root: their shards are always checked. */
  readonly #liars = new Set<PeerId>();

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
  async gather(placement: PackPlacement, have: ReadonlyMap<number, Uint8Array>, signal?: AbortSignal, partial = true, options: GatherOptions = {}): Promise<GatheredStripe> {
    const k = placement.dataCount;
    const shards: (Uint8Array | null)[] = placement.shards.map((_, i) => have.get(i) ?? null);
    let count = shards.filter((s) => s !== null).length;
    const fetched: number[] = [];
    let unchecked: number[] = [];
    const tried = new Set<number>();
    const prefer = options.prefer ?? new Set<number>();
    for (;;) {
      while (count < k) {
        signal?.throwIfAborted();
        const candidates = placement.shards
          .map((s, i) => ({ s, i }))
          .filter(({ s, i }) => s.holder !== null && shards[i] === null && !tried.has(i) && !this.#bad.has(`${placement.packId}/${i}`) && this.partners.link(s.holder));
        if (candidates.length === 0 || (!partial && candidates.length < k - count)) break;
        // Preferred indices first (a re-check), then the least busy holder, then data shards (a
        // systematic code rebuilds those without arithmetic). Load comes before data shards: with
        // replication (k = 1) shard 0 always lies with the same partner, so preferring data shards
        // sent every fetch to one link while the others idled; rebuilding from parity costs the
        // pool far less than a channel's time.
        candidates.sort((a, b) => Number(!prefer.has(a.i)) - Number(!prefer.has(b.i)) || this.#load(a.s.holder!) - this.#load(b.s.holder!) || Number(a.i >= k) - Number(b.i >= k) || a.i - b.i);
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
          if (bytes.length !== placement.shardLength) {
            this.#corrupt(placement, i);
            return false;
          }
          if (options.lazy && !this.#liars.has(holder)) {
            unchecked.push(i);
          } else {
            const checked = await this.rootOf(bytes);
            bytes = checked.bytes;
            if (!bytesEqual(checked.root, s.merkleRoot)) {
              this.#corrupt(placement, i);
              return false;
            }
            this.counters.served[holder] = (this.counters.served[holder] ?? 0) + 1;
          }
          shards[i] = bytes;
          fetched.push(i);
          return true;
        }));
        count += results.filter(Boolean).length;
      }
      if (count >= k || unchecked.length === 0) break;
      // The stripe stays incomplete: its shards will be kept for later, so they are checked now
      // (a bad one is dropped and, if another holder is linked, replaced).
      const toCheck = unchecked;
      unchecked = [];
      let dropped = 0;
      for (const i of toCheck) {
        const checked = await this.rootOf(shards[i]!);
        shards[i] = checked.bytes;
        if (bytesEqual(checked.root, placement.shards[i]!.merkleRoot)) {
          this.confirm(placement, [i]);
          continue;
        }
        this.#corrupt(placement, i);
        shards[i] = null;
        fetched.splice(fetched.indexOf(i), 1);
        count--;
        dropped++;
      }
      if (dropped === 0) break;
    }
    const complete = count >= k;
    if (complete) this.counters.packs++;
    return { shards, complete, fetched, unchecked };
  }

  /** Counts shards fetched `lazy` as served, once the caller verified them (their pack decoded). */
  confirm(placement: PackPlacement, indices: readonly number[]): void {
    for (const i of indices) {
      const holder = placement.shards[i]?.holder;
      if (holder) this.counters.served[holder] = (this.counters.served[holder] ?? 0) + 1;
    }
  }

  /** Records that shard `i` of `placement` failed its check: counted, never asked for again. */
  #corrupt(placement: PackPlacement, i: number): void {
    const holder = placement.shards[i]!.holder!;
    this.#bad.add(`${placement.packId}/${i}`);
    this.#liars.add(holder);
    this.counters.corrupt[holder] = (this.counters.corrupt[holder] ?? 0) + 1;
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
