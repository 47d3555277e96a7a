/**
 * The owner's side of backup and restore, wired together once an identity exists (one line in
 * `Runtime.startFor`): partners as holders, the outbox, the snapshot index and root record, the
 * backup and restore services, remembered folders, partners' observed presence, and the worker
 * pool they share (started on first use).
 */
import type { IDBPDatabase } from 'idb';
import type { BackpactDB } from '../store/db.ts';
import { WorkerPool } from '../workers/pool.ts';
import { BackupPartners } from './backup-partners.ts';
import { BackupService } from './backup.svelte.ts';
import { FolderService } from './folders.svelte.ts';
import type { LocalIdentity } from './identity.ts';
import type { AppNetwork } from './network.ts';
import { OutboxService } from './outbox.ts';
import { ExclusiveLock, PruneService } from './prune.svelte.ts';
import { PresenceService } from './presence.svelte.ts';
import type { PartnershipService } from './partnerships.svelte.ts';
import { RepairService } from './repair.svelte.ts';
import { RestoreService } from './restore.svelte.ts';
import { SnapshotIndex } from './snapshots.svelte.ts';

/** Backup and restore for the local identity. */
export class BackupServices {
  readonly partners: BackupPartners;
  readonly outbox: OutboxService;
  readonly index: SnapshotIndex;
  readonly backup: BackupService;
  readonly restore: RestoreService;
  /** Remembered folders backed up on a schedule. */
  readonly folders: FolderService;
  /** Keeping history: retention, prune, orphan collection. */
  readonly prune: PruneService;
  /** Observed presence of partners (feeds the stripe plan). */
  readonly presence: PresenceService;
  readonly repair: RepairService;
  /** Settles once the local index is loaded and unfinished restores resumed. */
  readonly ready: Promise<void>;
  #pool: WorkerPool | null = null;

  constructor(identity: LocalIdentity, network: AppNetwork, partnerships: PartnershipService, private readonly db: IDBPDatabase<BackpactDB>) {
    const pool = (): WorkerPool => (this.#pool ??= new WorkerPool());
    this.partners = new BackupPartners(identity, network, partnerships);
    this.outbox = new OutboxService(db, this.partners);
    this.index = new SnapshotIndex(db, identity, this.partners);
    this.presence = new PresenceService(db, this.partners);
    this.backup = new BackupService(db, identity, this.partners, this.outbox, this.index, pool, (peerId) => this.presence.availability(peerId));
    this.restore = new RestoreService(db, identity, this.partners, this.index, pool);
    this.folders = new FolderService(db, this.backup, this.partners);
    // Backups, clean-ups and repairs take turns: a running backup's packs are referenced by nothing
    // yet, and each of them publishes root records and decides what holders may delete.
    const lock = new ExclusiveLock();
    this.backup.exclusive = (fn) => lock.run(fn);
    this.prune = new PruneService(db, this.partners, this.index, this.backup, this.restore, lock);
    this.repair = new RepairService(db, identity, this.partners, this.outbox, this.index, this.backup);
    this.repair.exclusive = (fn) => lock.run(fn);
    // A shard delivered from the outbox makes its journaled pack more durable.
    this.outbox.on((e) => {
      if (e.outcome === 'delivered') void this.#markDurable(e.packId, e.index);
    });
    this.ready = this.#start();
  }

  async #start(): Promise<void> {
    await this.presence.load().catch(() => undefined);
    this.presence.start();
    await this.index.load();
    await this.backup.checkInterrupted();
    await this.restore.load();
    await this.prune.load();
    await this.repair.start();
    // A device with no backup of its own may be a new device restored from the phrase: look for
    // partners holding our root record.
    if (!this.index.hasRoot) await this.index.discover().catch(() => undefined);
    // Remembered folders: runs that are due (or were cut short by a reload) start now.
    await this.folders.start();
  }

  async #markDurable(packId: string, index: number): Promise<void> {
    const tx = this.db.transaction('journal', 'readwrite');
    const rec = await tx.store.get(packId as never);
    if (rec && !rec.durable.includes(index)) await tx.store.put({ ...rec, durable: [...rec.durable, index] });
    await tx.done;
  }
}
