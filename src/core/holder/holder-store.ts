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
 */
export interface HolderStore {
  setAllowance(owner: string, allowedBytes: number | null): Promise<void>;
  put(owner: string, shard: string, bytes: Uint8Array): Promise<void>;
  get(owner: string, shard: string): Promise<Uint8Array | undefined>;
  delete(owner: string, shard: string): Promise<boolean>;
  list(owner: string): Promise<HeldShardInfo[]>;
  usage(owner: string): Promise<HolderUsage>;
  dropOwner(owner: string): Promise<void>;
}

/** Checks a put against the allowance; throws the refusal the contract names. */
export function checkPut(owner: string, allowed: number | null, used: number, oldSize: number, size: number): void {
  if (allowed === null) throw new NoAgreementError(owner);
  if (used - oldSize + size > allowed) throw new HolderQuotaExceededError(owner, used, allowed, size);
}

/** In-memory holder store for unit tests. `capacity` simulates the device's own limit. */
export class MemoryHolderStore implements HolderStore {
  readonly #shards = new Map<string, Map<string, { bytes: Uint8Array; storedAt: number }>>();
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

  async put(owner: string, shard: string, bytes: Uint8Array): Promise<void> {
    const held = this.#shards.get(owner) ?? new Map();
    const oldSize = held.get(shard)?.bytes.length ?? 0;
    checkPut(owner, this.#allowed.get(owner) ?? null, (await this.usage(owner)).used, oldSize, bytes.length);
    if (this.#total() - oldSize + bytes.length > this.capacity) throw new DeviceStorageFullError(bytes.length);
    held.set(shard, { bytes: bytes.slice(), storedAt: this.now() });
    this.#shards.set(owner, held);
  }

  async get(owner: string, shard: string): Promise<Uint8Array | undefined> {
    return this.#shards.get(owner)?.get(shard)?.bytes.slice();
  }

  async delete(owner: string, shard: string): Promise<boolean> {
    return this.#shards.get(owner)?.delete(shard) ?? false;
  }

  async list(owner: string): Promise<HeldShardInfo[]> {
    return [...(this.#shards.get(owner) ?? new Map<string, { bytes: Uint8Array; storedAt: number }>()).entries()]
      .map(([shard, s]) => ({ shard, size: s.bytes.length, storedAt: s.storedAt }))
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
}
