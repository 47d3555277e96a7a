/**
 * Backing up picked files, end to end, in the commit order of docs/DESIGN.md §7:
 *
 * 1. files are read as streams (`File.stream()`), chunked and deduplicated on this thread, and
 *    sealed, packed, coded and Merkle-hashed in the worker pool;
 * 2. each pack's shards go one per partner (`shard.put`, acknowledged after the holder's
 *    IndexedDB commit), or to the outbox for partners offline now; placed packs are journaled;
 * 3. once every data pack the snapshot uses has `commitThreshold(k, m)` durable shards, the
 *    manifest is sealed with the index key, striped and placed the same way;
 * 4. a new root record (seq + 1) is signed and sent to every linked partner;
 * 5. only then is the local index updated (and the journal cleared).
 *
 * A crash or cancel anywhere before step 5 leaves the previous snapshot as it was; packs already
 * placed stay in the journal, so the next backup of the same files does not send them again.
 */
import type { IDBPDatabase } from 'idb';
import { planStripes, survivalText, type StripePlan } from '../core/backup/plan.ts';
import { RateMeter } from '../core/backup/progress.ts';
import { SnapshotAssembler } from '../core/backup/snapshot.ts';
import { checkTree, normalizePath } from '../core/backup/tree.ts';
import type { PackId, PeerId, SnapshotId } from '../core/ids.ts';
import { sealManifest, type FileEntry } from '../core/manifest/index.ts';
import { objectId as packIdOf } from '../core/pack/pack.ts';
import { stripePack, stripeRoots } from '../core/pack/shards.ts';
import type { WorkerPool } from '../workers/pool.ts';
import type { BackpactDB } from '../store/db.ts';
import type { BackupPartners } from './backup-partners.ts';
import { StreamingEncoder } from '../workers/backup.ts';
import { StripeUploader } from './backup-upload.ts';
import type { LocalIdentity } from './identity.ts';
import type { OutboxService } from './outbox.ts';
import type { SnapshotIndex } from './snapshots.svelte.ts';

/** Something picked for backup. */
export interface BackupItem {
  /** Path in the snapshot ('/'-separated, relative). */
  path: string;
  kind: 'file' | 'directory';
  /** The file (absent for a directory). */
  file?: Blob;
  /** Last modification, ms. */
  mtime: number;
}

/** What the progress bar shows. */
export interface BackupProgress {
  phase: 'idle' | 'preparing' | 'reading' | 'waiting' | 'committing' | 'done' | 'failed' | 'cancelled';
  files: number;
  filesDone: number;
  bytes: number;
  bytesDone: number;
  /** Plaintext bytes that were new (not already stored). */
  newBytes: number;
  /** Shard bytes acknowledged by partners directly, and queued for offline ones. */
  sentBytes: number;
  queuedBytes: number;
  /** Bytes per second read and processed. */
  rate: number;
  secondsLeft: number | null;
  /** Plain words: what happens now or what went wrong. */
  message: string | null;
  /** "Survives losing any 2 partners of your 3." */
  survival: string | null;
  snapshotId: SnapshotId | null;
}

const IDLE: BackupProgress = {
  phase: 'idle', files: 0, filesDone: 0, bytes: 0, bytesDone: 0, newBytes: 0, sentBytes: 0, queuedBytes: 0, rate: 0, secondsLeft: null,
  message: null, survival: null, snapshotId: null,
};

/** How often progress is published to the UI, ms. */
const PROGRESS_INTERVAL_MS = 200;

/** Runs backups, one at a time. */
export class BackupService {
  progress = $state<BackupProgress>({ ...IDLE });
  /** Packs an interrupted backup left (reused when the same files are backed up again). */
  interrupted = $state<{ packs: number; bytes: number } | null>(null);
  #controller: AbortController | null = null;
  #running: Promise<SnapshotId> | null = null;
  readonly #committed = new Set<(id: SnapshotId) => void>();
  /**
   * Runs a backup exclusively of other work on the same stored data (retention and orphan
   * collection set it: they must not run while a backup's packs are unreferenced yet).
   */
  exclusive: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn();

  constructor(
    private readonly db: IDBPDatabase<BackpactDB>,
    private readonly me: LocalIdentity,
    private readonly partners: BackupPartners,
    private readonly outbox: OutboxService,
    private readonly index: SnapshotIndex,
    private readonly pool: () => WorkerPool,
    /** Estimated availability of a partner from observed presence (null: none observed yet). */
    private readonly presence?: (peerId: PeerId) => number | null,
  ) {}

  /** Reads what an interrupted backup left in the journal. */
  async checkInterrupted(): Promise<void> {
    const journal = await this.db.getAll('journal');
    this.interrupted = journal.length === 0 ? null : { packs: journal.length, bytes: journal.reduce((n, j) => n + j.placement.length, 0) };
  }

  /** True while a backup runs. */
  get running(): boolean {
    return this.#running !== null;
  }

  /** Settles when no backup runs (at once when none does). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running.catch(() => undefined);
  }

  /**
   * Tests only, through the debug handle (`backpactDebug.runtime.backup.backup.codingOverride`):
   * a fixed (k, m) instead of the policy's, e.g. k = 2 over three partners so that no single
   * partner can rebuild a pack. Not persisted; null in normal use.
   */
  codingOverride: { k: number; m: number } | null = null;

  /** The plan a backup would use now (null without partners). */
  plan(): StripePlan | null {
    const holders = this.partners.holders();
    if (holders.length === 0) return null;
    const partners = holders.map((p) => {
      const observed = this.presence?.(p.peerId) ?? null;
      return { peerId: p.peerId, availability: p.availability, ...(observed !== null ? { observed } : {}) };
    });
    return planStripes(partners, { override: this.codingOverride });
  }

  /** Stops the running backup; the previous snapshot stays the latest. */
  cancel(): void {
    this.#controller?.abort(new DOMException('The backup was cancelled.', 'AbortError'));
  }

  /** Backs up `items` as a new snapshot; resolves its id. */
  run(items: readonly BackupItem[], label = this.me.name): Promise<SnapshotId> {
    if (this.#running) return Promise.reject(new Error('A backup is already running.'));
    const controller = new AbortController();
    this.#controller = controller;
    const running = this.exclusive(() => this.#run(items, label, controller.signal)).finally(() => {
      this.#running = null;
      this.#controller = null;
      void this.checkInterrupted();
    });
    this.#running = running;
    void running.then((id) => {
      for (const fn of this.#committed) fn(id);
    }, () => undefined);
    return running;
  }

  /** Calls `fn` after each backup that committed a snapshot; returns the unsubscribe function. */
  onCommitted(fn: (id: SnapshotId) => void): () => void {
    this.#committed.add(fn);
    return () => this.#committed.delete(fn);
  }

  async #run(rawItems: readonly BackupItem[], label: string, signal: AbortSignal): Promise<SnapshotId> {
    const p: BackupProgress = { ...IDLE, phase: 'preparing' };
    const meter = new RateMeter();
    const started = performance.now();
    let lastPublish = 0;
    const publish = (force = false): void => {
      const now = performance.now();
      if (!force && now - lastPublish < PROGRESS_INTERVAL_MS) return;
      lastPublish = now;
      meter.sample(p.bytesDone, now - started);
      p.rate = meter.bytesPerSecond;
      p.secondsLeft = meter.secondsLeft(p.bytes - p.bytesDone);
      this.progress = { ...p };
    };
    let uploader: StripeUploader | null = null;
    let encoder: StreamingEncoder | null = null;
    try {
      const items = rawItems.map((i) => ({ ...i, path: normalizePath(i.path) }));
      checkTree(items);
      if (items.length === 0) throw new Error('Choose at least one file or folder to back up.');
      const plan = this.plan();
      if (!plan) throw new Error('Invite a partner first: a backup needs at least one partner to hold it.');
      p.files = items.filter((i) => i.kind === 'file').length;
      p.bytes = items.reduce((n, i) => n + (i.file?.size ?? 0), 0);
      p.survival = survivalText(plan);
      publish(true);

      const known = await this.index.knownForBackup();
      const up = new StripeUploader(this.db, this.partners, this.outbox, plan.holders, signal);
      uploader = up;
      await up.resume(known.journal);
      const assembler = new SnapshotAssembler(known.index);
      const keys = { dataKey: this.me.keys.dataKey, dedupKey: this.me.keys.dedupKey, shardNameKey: this.me.keys.shardNameKey };
      const enc: StreamingEncoder = await StreamingEncoder.start(this.pool(), keys, { dataCount: plan.k, parityCount: plan.m }, known.chunkIds, (pack) =>
        up.accept(pack, pack.entries, (placement) => {
          assembler.addPack(placement, pack.entries);
          // Placed: every shard is acknowledged or in the outbox, so its worker may reuse the buffer.
          enc.release(pack);
        }),
      );
      encoder = enc;

      p.phase = 'reading';
      for (const item of items) {
        signal.throwIfAborted();
        if (item.kind === 'directory' || !item.file) {
          assembler.addFile({ path: item.path, kind: 'directory', size: 0, mtime: item.mtime, chunks: [] });
          continue;
        }
        const before = p.bytesDone;
        const info = await enc.addFile(item.file, signal, (read) => {
          p.bytesDone = before + read;
          p.sentBytes = up.counters.sentBytes;
          p.queuedBytes = up.counters.queuedBytes;
          publish();
        });
        p.bytesDone = before + item.file.size;
        p.newBytes += info.newBytes;
        p.filesDone++;
        assembler.addFile({ path: item.path, kind: 'file', size: info.size, mtime: item.mtime, chunks: info.chunks } satisfies FileEntry);
        publish();
      }
      await enc.finish();
      await up.drain();

      const manifest = assembler.build({ createdAt: Date.now(), label, parent: known.parent });
      const waitMessage = (w: { packs: number; holders: Set<string> }): void => {
        p.phase = 'waiting';
        const names = [...w.holders].map((h) => this.partners.nameOf(h as never));
        p.message = `Waiting for ${names.length ? names.join(', ') : 'partners'} to come online: ${w.packs} ${w.packs === 1 ? 'piece is' : 'pieces are'} not yet stored safely enough.`;
        publish(true);
      };
      await up.waitDurable(manifest.packs.map((x) => x.packId), waitMessage);

      p.phase = 'committing';
      p.message = 'Saving the file list…';
      publish(true);
      const sealed = await sealManifest(this.me.keys.indexKey, manifest);
      const manifestPackId: PackId = await packIdOf(sealed.envelope);
      const stripe = stripePack(sealed.envelope, manifestPackId, plan.k, plan.m, this.me.keys.shardNameKey);
      const placement = await up.place({ ...stripe, length: stripe.packLength, merkleRoots: stripeRoots(stripe) }, null);
      await up.waitDurable([manifestPackId], waitMessage);
      p.phase = 'committing';
      p.message = 'Recording the new snapshot with your partners…';
      publish(true);
      const summary = { label, files: p.files, bytes: manifest.files.reduce((n, f) => n + f.size, 0) };
      await this.index.publish({ id: sealed.id, createdAt: manifest.createdAt, manifest: placement }, sealed.envelope, summary, () =>
        new Promise<void>((resolve) => {
          p.phase = 'waiting';
          p.message = 'Waiting for a partner to come online to record the snapshot…';
          publish(true);
          const off = this.partners.network.peers.on('link', () => {
            off();
            resolve();
          });
          signal.addEventListener('abort', () => {
            off();
            resolve();
          }, { once: true });
        }).then(() => signal.throwIfAborted()),
      );
      p.sentBytes = up.counters.sentBytes;
      p.queuedBytes = up.counters.queuedBytes;
      p.phase = 'done';
      p.snapshotId = sealed.id;
      p.message = p.queuedBytes > 0 ? 'Backed up. Some pieces wait for partners who are offline and will be delivered when they connect.' : 'Backed up.';
      publish(true);
      return sealed.id;
    } catch (err) {
      p.phase = signal.aborted ? 'cancelled' : 'failed';
      p.message = signal.aborted ? 'Backup cancelled. Your previous backup is unchanged.' : (err instanceof Error ? err.message : String(err));
      publish(true);
      await encoder?.settle();
      throw err;
    } finally {
      uploader?.close();
    }
  }
}
