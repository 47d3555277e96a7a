/**
 * Placing stripes: one shard to each planned holder over its link, or into the outbox when the
 * holder is offline or the link fails, and tracking which packs are durable enough to commit
 * (docs/DESIGN.md §7). At most {@link UPLOAD_WINDOW} packs are being placed at once, which
 * bounds the memory a backup holds whatever its size.
 */
import type { IDBPDatabase } from 'idb';
import { toHex } from '../core/encoding/bytes.ts';
import type { PackId, PeerId, ShardId } from '../core/ids.ts';
import type { PackPlacement, ShardPlacement } from '../core/manifest/placement.ts';
import type { PackEntry } from '../core/pack/pack.ts';
import { commitThreshold } from '../core/policy/coding.ts';
import type { BackpactDB } from '../store/db.ts';
import type { JournalRecord } from '../store/backup-schema.ts';
import { isTransient, putShard, ShardRefusedError, type BackupPartners } from './backup-partners.ts';
import type { OutboxService } from './outbox.ts';

/** Packs being placed at once (each holds its k + m shards in memory until placed). */
export const UPLOAD_WINDOW = 3;

/** A coded pack ready to place (an `EncodedPack`, or a manifest striped on this thread). */
export interface StripeToPlace {
  readonly packId: PackId;
  readonly length: number;
  readonly dataCount: number;
  readonly parityCount: number;
  readonly shardLength: number;
  readonly shards: readonly Uint8Array[];
  readonly shardIds: readonly ShardId[];
  readonly merkleRoots: readonly Uint8Array[];
}

/** Counters of one run. */
export interface UploadCounters {
  /** Shard bytes acknowledged by holders directly. */
  sentBytes: number;
  /** Shard bytes put in the outbox. */
  queuedBytes: number;
  /** Stripes placed. */
  packs: number;
}

interface Tracked {
  threshold: number;
  durable: Set<number>;
  queued: Set<number>;
  refusal: string | null;
  /** The holder's refusal code (`REFUSAL`), when one refused. */
  refusalCode?: string;
}

/** Too few holders took a pack's shards; `code` is the (first) holder's refusal code, if any. */
export class PlacementRefusedError extends Error {
  override name = 'PlacementRefusedError';
  constructor(message: string, readonly code: string | null) {
    super(message);
  }

  /** True when holders refused for lack of room (agreed space or device storage). */
  get noRoom(): boolean {
    return this.code === 'quota-exceeded' || this.code === 'device-storage-full';
  }
}

/** Shards a pack needs durable before a snapshot using it commits. */
export function durableThreshold(p: Pick<PackPlacement, 'dataCount' | 'parityCount'>, plannedHolders: number): number {
  return Math.min(commitThreshold(p.dataCount, p.parityCount), plannedHolders);
}

/** Places the stripes of one backup run. */
export class StripeUploader {
  readonly counters: UploadCounters = { sentBytes: 0, queuedBytes: 0, packs: 0 };
  readonly #tracked = new Map<PackId, Tracked>();
  readonly #window = new Set<Promise<unknown>>();
  #failure: { error: unknown } | null = null;
  #changed: (() => void) | null = null;
  readonly #off: () => void;

  constructor(
    private readonly db: IDBPDatabase<BackpactDB>,
    private readonly partners: BackupPartners,
    private readonly outbox: OutboxService,
    private readonly holders: readonly (PeerId | null)[],
    private readonly signal: AbortSignal,
  ) {
    this.#off = outbox.on((e) => {
      const t = this.#tracked.get(e.packId);
      if (!t) return;
      t.queued.delete(e.index);
      if (e.outcome === 'delivered') t.durable.add(e.index);
      else t.refusal ??= `${partners.nameOf(e.holder)} refused a shard`;
      this.#wake();
    });
  }

  /** Stops listening to the outbox. */
  close(): void {
    this.#off();
    this.#wake();
  }

  /** Tracks packs of an interrupted run (from the journal), with their shards still in the outbox. */
  async resume(journal: readonly JournalRecord[]): Promise<void> {
    for (const j of journal) {
      const queued = new Set<number>();
      for (const [i, s] of j.placement.shards.entries()) {
        if (s.holder && !j.durable.includes(i) && (await this.db.getKey('outbox', [s.holder, s.id]))) queued.add(i);
      }
      const planned = j.placement.shards.filter((s) => s.holder !== null).length;
      this.#tracked.set(j.packId, { threshold: durableThreshold(j.placement, planned), durable: new Set(j.durable), queued, refusal: null });
    }
  }

  /** Waits for room in the window, then starts placing `stripe` (and journaling it with `entries`). */
  async accept(stripe: StripeToPlace, entries: readonly PackEntry[], onPlaced: (p: PackPlacement) => void): Promise<void> {
    while (this.#window.size >= UPLOAD_WINDOW) await Promise.race(this.#window);
    this.#throwIfFailed();
    const p = this.place(stripe, entries)
      .then(onPlaced)
      .catch((error: unknown) => void (this.#failure ??= { error }));
    const tracked: Promise<void> = p.finally(() => this.#window.delete(tracked));
    this.#window.add(tracked);
  }

  /** Waits until every accepted stripe is placed; throws the first failure. */
  async drain(): Promise<void> {
    await Promise.all(this.#window);
    this.#throwIfFailed();
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure.error;
  }

  /**
   * Places one stripe: every shard acknowledged by its holder or queued in the outbox. With
   * `entries`, the pack is journaled once placed (a resumed backup can reuse it).
   */
  async place(stripe: StripeToPlace, entries: readonly PackEntry[] | null): Promise<PackPlacement> {
    const n = stripe.dataCount + stripe.parityCount;
    if (n !== this.holders.length) throw new Error(`a stripe of ${n} shards for ${this.holders.length} planned holders`);
    const t: Tracked = {
      threshold: durableThreshold(stripe, this.holders.filter((h) => h !== null).length),
      durable: new Set(),
      queued: new Set(),
      refusal: null,
    };
    this.#tracked.set(stripe.packId, t);
    const shards: ShardPlacement[] = await Promise.all(stripe.shards.map(async (bytes, i) => {
      const holder = this.holders[i] ?? null;
      const id = stripe.shardIds[i]!;
      const merkleRoot = stripe.merkleRoots[i]!;
      if (holder === null) return { id, holder, merkleRoot };
      const link = this.partners.link(holder);
      if (link) {
        try {
          await putShard(link, id, bytes, this.signal, toHex(merkleRoot));
          t.durable.add(i);
          this.counters.sentBytes += bytes.length;
          return { id, holder, merkleRoot };
        } catch (err) {
          this.signal.throwIfAborted();
          if (err instanceof ShardRefusedError) {
            t.refusal ??= `${this.partners.nameOf(holder)} refused a shard: ${err.message}`;
            t.refusalCode ??= err.code;
            return { id, holder: null, merkleRoot };
          }
          if (!isTransient(err)) throw err;
        }
      }
      await this.outbox.enqueue({ holder, shard: id, packId: stripe.packId, index: i, bytes, size: bytes.length, merkleRoot: toHex(merkleRoot) });
      t.queued.add(i);
      this.counters.queuedBytes += bytes.length;
      return { id, holder, merkleRoot };
    }));
    const placement: PackPlacement = {
      packId: stripe.packId, length: stripe.length, dataCount: stripe.dataCount, parityCount: stripe.parityCount, shardLength: stripe.shardLength, shards,
    };
    if (entries) {
      await this.db.put('journal', { packId: stripe.packId, placement, entries: [...entries], durable: [...t.durable], queuedAt: Date.now() });
    }
    this.counters.packs++;
    this.#wake();
    return placement;
  }

  /** Packs of `ids` not yet durable enough, and the shards they still wait for. */
  waitingFor(ids: Iterable<PackId>): { packs: number; holders: Set<PeerId> } {
    let packs = 0;
    const holders = new Set<PeerId>();
    for (const id of ids) {
      const t = this.#tracked.get(id);
      if (!t || t.durable.size >= t.threshold) continue;
      packs++;
      for (const i of t.queued) {
        const h = this.holders[i];
        if (h) holders.add(h);
      }
    }
    return { packs, holders };
  }

  /**
   * Resolves once every pack of `ids` that this run tracks has enough durable shards. Rejects
   * when one can no longer get there (holders refused). `onWait` is told what is missing.
   */
  async waitDurable(ids: readonly PackId[], onWait: (w: { packs: number; holders: Set<PeerId> }) => void): Promise<void> {
    for (;;) {
      this.signal.throwIfAborted();
      for (const id of ids) {
        const t = this.#tracked.get(id);
        if (t && t.durable.size + t.queued.size < t.threshold) throw new PlacementRefusedError(t.refusal ?? 'Too few partners can take this backup.', t.refusalCode ?? null);
      }
      const w = this.waitingFor(ids);
      if (w.packs === 0) return;
      onWait(w);
      await new Promise<void>((resolve) => {
        this.#changed = resolve;
        this.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    }
  }

  #wake(): void {
    const w = this.#changed;
    this.#changed = null;
    w?.();
  }
}
