/**
 * The holder store port: where a device keeps the shards it holds for its partners, keyed by
 * (owner id, shard id), under the quota each owner's agreement allows. Adapters: the IndexedDB
 * store in `src/store/holder-store.ts` and the in-memory double below; both pass the contract in
 * `holder-store.contract.ts`.
 */
import { DeviceStorageFullError, HolderQuotaExceededError, NoAgreementError } from './errors.ts';

/** What is known about one held shard without reading its bytes. */
export interface HeldShardInfo {
  shard: string;
  size: number;
  /** Unix ms of the (last) write. */
  storedAt: number;
  /** Unix ms when the self-check (scrub) found it damaged; absent while it is believed good. */
  damagedAt?: number;
}

/** A held shard as the self-check (scrub) reads it. */
export interface ScrubItem {
  owner: string;
  shard: string;
  bytes: Uint8Array;
  storedAt: number;
  /** Merkle root (hex) the owner sent with the shard, or the baseline of the first scrub; null if neither. */
  merkleRoot: string | null;
  rootSource: 'owner' | 'baseline' | null;
  /** Unix ms of the last scrub of these bytes; null before any. */
  checkedAt: number | null;
  damagedAt: number | null;
}

/** What one scrub of a shard found. */
export interface ScrubOutcome {
  at: number;
  damaged: boolean;
  /** Root computed at a first scrub of a shard that came without one: kept as its baseline. */
  baselineRoot?: string;
}

/** Quota and usage for one owner. */
export interface HolderUsage {
  /** Bytes held for the owner. */
  used: number;
  /** Bytes the agreement allows; null without an agreement. */
  allowed: number | null;
}

/**
 * Storage of partners' shards.
 *
 * Contract:
 * - `put` resolves only once the shard is durable (an acknowledged shard survives a crash). It is
 *   atomic: on any rejection nothing changed. Re-putting a shard replaces it, counting its size once.
 *   It rejects with {@link NoAgreementError} when the owner has no allowance,
 *   {@link HolderQuotaExceededError} when `used - old size + new size > allowed`, and
 *   {@link DeviceStorageFullError} when the device has no room.
 * - `get` resolves `undefined` for an unknown shard; `delete` resolves whether it existed.
 * - `setAllowance(owner, null)` removes the allowance (no new writes) but keeps held shards, so an
 *   ended agreement's grace period can run; `dropOwner` deletes everything held for the owner.
 * - Lowering an allowance below current usage never deletes data; it only refuses new writes.
 * - `put` keeps the shard's Merkle root (hex) when given and clears any damage mark: a re-put is a
 *   repair. A shard marked damaged by the self-check (`recordScrub`) is no longer served: `get`
 *   resolves `undefined` for it, as for an unknown shard, but it still counts in usage and
 *   `list` shows it with `damagedAt` until the owner replaces or deletes it.
 * - `nextForScrub(after)` resolves the first shard after `after` in (owner, shard) order (all of
 *   them when null), with its bytes; `recordScrub` stores an outcome only if the shard is still
 *   the one read (same `storedAt`), so a re-put during a scrub is never marked damaged. A re-put
 *   always gets a later `storedAt` than the copy it replaces (even within one millisecond).
 */
export interface HolderStore {
  setAllowance(owner: string, allowedBytes: number | null): Promise<void>;
  put(owner: string, shard: string, bytes: Uint8Array, merkleRoot?: string): Promise<void>;
  get(owner: string, shard: string): Promise<Uint8Array | undefined>;
  delete(owner: string, shard: string): Promise<boolean>;
  list(owner: string): Promise<HeldShardInfo[]>;
  usage(owner: string): Promise<HolderUsage>;
  dropOwner(owner: string): Promise<void>;
  nextForScrub(after: readonly [string, string] | null): Promise<ScrubItem | null>;
  recordScrub(owner: string, shard: string, storedAt: number, outcome: ScrubOutcome): Promise<boolean>;
}

/** Checks a put against the allowance; throws the refusal the contract names. */
export function checkPut(owner: string, allowed: number | null, used: number, oldSize: number, size: number): void {
  if (allowed === null) throw new NoAgreementError(owner);
  if (used - oldSize + size > allowed) throw new HolderQuotaExceededError(owner, used, allowed, size);
}

/** What the memory store keeps per shard: a scrub item without its key. */
type MemoryShard = Omit<ScrubItem, 'owner' | 'shard'>;

/** In-memory holder store for unit tests. `capacity` simulates the device's own limit. */
export class MemoryHolderStore implements HolderStore {
  readonly #shards = new Map<string, Map<string, MemoryShard>>();
  readonly #allowed = new Map<string, number>();

  constructor(private readonly capacity = Number.POSITIVE_INFINITY, private readonly now = () => Date.now()) {}

  #total(): number {
    let t = 0;
    for (const m of this.#shards.values()) for (const s of m.values()) t += s.bytes.length;
    return t;
  }

  async setAllowance(owner: string, allowedBytes: number | null): Promise<void> {
    if (allowedBytes === null) this.#allowed.delete(owner);
    else this.#allowed.set(owner, allowedBytes);
  }

  async put(owner: string, shard: string, bytes: Uint8Array, merkleRoot?: string): Promise<void> {
    const held = this.#shards.get(owner) ?? new Map();
    const old = held.get(shard);
    const oldSize = old?.bytes.length ?? 0;
    checkPut(owner, this.#allowed.get(owner) ?? null, (await this.usage(owner)).used, oldSize, bytes.length);
    if (this.#total() - oldSize + bytes.length > this.capacity) throw new DeviceStorageFullError(bytes.length);
    held.set(shard, { bytes: bytes.slice(), storedAt: Math.max(this.now(), (old?.storedAt ?? -1) + 1), merkleRoot: merkleRoot ?? null, rootSource: merkleRoot ? 'owner' : null, checkedAt: null, damagedAt: null });
    this.#shards.set(owner, held);
  }

  async get(owner: string, shard: string): Promise<Uint8Array | undefined> {
    const s = this.#shards.get(owner)?.get(shard);
    return s && s.damagedAt === null ? s.bytes.slice() : undefined;
  }

  async delete(owner: string, shard: string): Promise<boolean> {
    return this.#shards.get(owner)?.delete(shard) ?? false;
  }

  async list(owner: string): Promise<HeldShardInfo[]> {
    return [...(this.#shards.get(owner) ?? new Map<string, MemoryShard>()).entries()]
      .map(([shard, s]) => ({ shard, size: s.bytes.length, storedAt: s.storedAt, ...(s.damagedAt !== null ? { damagedAt: s.damagedAt } : {}) }))
      .sort((x, y) => (x.shard < y.shard ? -1 : 1));
  }

  async usage(owner: string): Promise<HolderUsage> {
    let used = 0;
    for (const s of this.#shards.get(owner)?.values() ?? []) used += s.bytes.length;
    return { used, allowed: this.#allowed.get(owner) ?? null };
  }

  async dropOwner(owner: string): Promise<void> {
    this.#shards.delete(owner);
  }

  async nextForScrub(after: readonly [string, string] | null): Promise<ScrubItem | null> {
    let best: [string, string, MemoryShard] | null = null;
    for (const [owner, held] of this.#shards) {
      for (const [shard, s] of held) {
        if (after && compareKeys([owner, shard], after) <= 0) continue;
        if (!best || compareKeys([owner, shard], [best[0], best[1]]) < 0) best = [owner, shard, s];
      }
    }
    if (!best) return null;
    const [owner, shard, s] = best;
    return { owner, shard, bytes: s.bytes.slice(), storedAt: s.storedAt, merkleRoot: s.merkleRoot, rootSource: s.rootSource, checkedAt: s.checkedAt, damagedAt: s.damagedAt };
  }

  async recordScrub(owner: string, shard: string, storedAt: number, outcome: ScrubOutcome): Promise<boolean> {
    const s = this.#shards.get(owner)?.get(shard);
    if (!s || s.storedAt !== storedAt) return false;
    s.checkedAt = outcome.at;
    if (outcome.damaged) s.damagedAt ??= outcome.at;
    if (outcome.baselineRoot && s.merkleRoot === null) {
      s.merkleRoot = outcome.baselineRoot;
      s.rootSource = 'baseline';
    }
    return true;
  }
}

/** Orders (owner, shard) keys as IndexedDB orders string arrays. */
export function compareKeys(a: readonly [string, string], b: readonly [string, string]): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  return 0;
}
