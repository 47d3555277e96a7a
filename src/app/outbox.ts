/**
 * The outbox: shards whose holder was offline (or whose link failed) when they were made wait
 * here, in IndexedDB, and are delivered when the holder links again. A shard leaves the outbox
 * only once its holder acknowledged it durable, or refused it for good.
 */
import type { IDBPDatabase } from 'idb';
import type { PackId, PeerId, ShardId } from '../core/ids.ts';
import type { BackpactDB } from '../store/db.ts';
import type { OutboxRecord } from '../store/backup-schema.ts';
import { BackupPartners, isTransient, putShard, ShardRefusedError } from './backup-partners.ts';

/** What happened to a shard that left the outbox. */
export interface OutboxEvent {
  holder: PeerId;
  shard: ShardId;
  packId: PackId;
  index: number;
  outcome: 'delivered' | 'refused';
  size: number;
}

/** Delivers queued shards to holders as they link. */
export class OutboxService {
  readonly #listeners = new Set<(e: OutboxEvent) => void>();
  readonly #draining = new Map<PeerId, Promise<void>>();
  /** Bytes delivered from the outbox since start (for progress and tests). */
  delivered = 0;

  constructor(
    private readonly db: IDBPDatabase<BackpactDB>,
    private readonly partners: BackupPartners,
  ) {
    partners.network.peers.on('link', ({ peer }) => void this.drain(BackupPartners.peerIdOf(peer.id)));
  }

  /** Calls `fn` for every shard that leaves the outbox; returns the unsubscribe function. */
  on(fn: (e: OutboxEvent) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Queues a shard (committed before this resolves); delivery starts at once if the holder is linked. */
  async enqueue(rec: Omit<OutboxRecord, 'queuedAt' | 'bytes'> & { bytes: Uint8Array }): Promise<void> {
    await this.db.put('outbox', { ...rec, bytes: new Blob([rec.bytes as Uint8Array<ArrayBuffer>]), queuedAt: Date.now() });
    if (this.partners.link(rec.holder)) void this.drain(rec.holder);
  }

  /** Shards waiting, per holder. */
  async pending(): Promise<Map<PeerId, { shards: number; bytes: number }>> {
    const out = new Map<PeerId, { shards: number; bytes: number }>();
    let cursor = await this.db.transaction('outbox').store.openCursor();
    while (cursor) {
      const v = cursor.value;
      const e = out.get(v.holder) ?? { shards: 0, bytes: 0 };
      e.shards++;
      e.bytes += v.size;
      out.set(v.holder, e);
      cursor = await cursor.continue();
    }
    return out;
  }

  /** Delivers everything queued for `holder` while it stays linked (one drain per holder at a time). */
  drain(holder: PeerId): Promise<void> {
    const running = this.#draining.get(holder);
    if (running) return running;
    const p = this.#drain(holder).finally(() => this.#draining.delete(holder));
    this.#draining.set(holder, p);
    return p;
  }

  async #drain(holder: PeerId): Promise<void> {
    for (;;) {
      const keys = await this.db.getAllKeysFromIndex('outbox', 'by-holder', holder, 16);
      if (keys.length === 0) return;
      for (const key of keys) {
        const link = this.partners.link(holder);
        if (!link) return;
        const rec = await this.db.get('outbox', key);
        if (!rec) continue;
        let outcome: OutboxEvent['outcome'];
        try {
          await putShard(link, rec.shard, new Uint8Array(await rec.bytes.arrayBuffer()), undefined, rec.merkleRoot);
          outcome = 'delivered';
          this.delivered += rec.size;
        } catch (err) {
          if (isTransient(err) || !(err instanceof ShardRefusedError)) return;
          outcome = 'refused';
        }
        await this.db.delete('outbox', key);
        const e: OutboxEvent = { holder, shard: rec.shard, packId: rec.packId, index: rec.index, outcome, size: rec.size };
        for (const fn of this.#listeners) fn(e);
      }
    }
  }
}
