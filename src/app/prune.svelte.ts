/**
 * Keeping history: the retention policy, prune and orphan collection (docs/DESIGN.md §7.12).
 *
 * Prune, in this order:
 * 1. apply the policy to the root record's snapshots (snapshots being restored are kept too);
 * 2. open the manifest of every snapshot that stays (fetched from holders if this device does
 *    not have it; when one cannot be had, refuse — what it references is unknown) and of every
 *    forgotten one if available, and read the journal and outbox;
 * 3. compute the shards only forgotten snapshots reference (core `unreferencedShards`);
 * 4. publish a root record without the forgotten snapshots to every linked holder (at least one
 *    must keep it); then, in one strict transaction, drop them from the local index and queue the
 *    deletes per holder in `kv['prune/queue/<PeerId>']`;
 * 5. deliver each holder's queue when it is linked (now, or whenever it links: its root record is
 *    synced first), in `shard.delete` messages of at most `SHARD_PAGE` ids.
 *
 * Orphan collection: lists every linked holder's shards (paged `shard.list` with storage times)
 * and deletes those no snapshot, manifest, journal pack or outbox entry references and that were
 * stored more than {@link ORPHAN_MIN_AGE_MS} ago. Runs after a clean-up and, at most once a
 * day, after a successful backup.
 *
 * Both run exclusively of backups on this device (a running backup's packs are not referenced by
 * anything yet), through the same lock.
 */
import type { IDBPDatabase } from 'idb';
import { batches, orphansIn, unreferencedShards, type ListedShard } from '../core/backup/prune.ts';
import { applyRetention, checkPolicy, DEFAULT_RETENTION, type KeepReason, type RetentionPolicy } from '../core/backup/retention.ts';
import type { PeerId, ShardId, SnapshotId } from '../core/ids.ts';
import type { PackPlacement } from '../core/manifest/placement.ts';
import type { SnapshotRef } from '../core/manifest/root-record.ts';
import { parseHolderReply, SHARD_PAGE } from '../core/partner/messages.ts';
import type { PeerLink } from '../p2p/link.ts';
import type { SignalingId } from '../protocol/signaling.ts';
import type { BackpactDB } from '../store/db.ts';
import { BackupPartners } from './backup-partners.ts';
import type { BackupService } from './backup.svelte.ts';
import type { RestoreService } from './restore.svelte.ts';
import type { KvInTx, SnapshotIndex } from './snapshots.svelte.ts';

const SETTINGS_KEY = 'prune/settings';
const QUEUE_PREFIX = 'prune/queue/';
const ORPHANS_AT_KEY = 'prune/orphans-at';
const REPORT_KEY = 'prune/report';

/** A shard younger than this is never collected as an orphan: a backup may be running elsewhere. */
export const ORPHAN_MIN_AGE_MS = 60 * 60_000;
/** Orphan collection after a backup runs at most this often. */
export const ORPHAN_INTERVAL_MS = 24 * 60 * 60_000;
/** Time for a holder to answer a delete or a listing page. */
const HOLDER_TIMEOUT_MS = 60_000;

/** What the person chose. */
export interface PruneSettings {
  policy: RetentionPolicy;
  /** Clean up after each backup. */
  auto: boolean;
}

/** Deletes waiting for one holder: shard ids with their sizes. */
interface QueueRecord {
  holder: PeerId;
  shards: [ShardId, number][];
}

/** Space freed (and still to free) at one partner by the last clean-up. */
export interface FreedAtPartner {
  peerId: PeerId;
  name: string;
  freedBytes: number;
  pendingBytes: number;
}

/** The outcome of the last clean-up, kept in `kv['prune/report']`. */
export interface PruneReport {
  at: number;
  forgotten: number;
  orphans: number;
  /** Orphan collection was skipped, and why (plain words). */
  orphansSkipped: string | null;
  partners: FreedAtPartner[];
}

/** A snapshot as the preview shows it. */
export interface RetentionPreviewItem {
  id: SnapshotId;
  createdAt: number;
  reasons: KeepReason[];
}

/** Prune refused before changing anything. */
export class PruneRefusedError extends Error {
  override name = 'PruneRefusedError';
}

/** What the progress bar shows. */
export interface PruneStatus {
  /** Clean-ups started since the page loaded (tells one run's end from the previous one's). */
  run: number;
  phase: 'idle' | 'waiting' | 'working' | 'done' | 'failed';
  message: string | null;
  done: number;
  total: number;
}

/** One task at a time over the stored backup data (backups, prune, orphan collection). */
export class ExclusiveLock {
  #tail: Promise<unknown> = Promise.resolve();
  #held = 0;

  /** True while a task holds or waits for the lock. */
  get busy(): boolean {
    return this.#held > 0;
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    this.#held++;
    const result = this.#tail.then(() => fn()).finally(() => this.#held--);
    this.#tail = result.then(() => undefined, () => undefined);
    return result;
  }
}

/** The person's local UTC offset at an instant, in minutes east (for day, week and month limits). */
export function localOffset(ms: number): number {
  return -new Date(ms).getTimezoneOffset();
}

/** Retention, prune and orphan collection for the owner. */
export class PruneService {
  settings = $state.raw<PruneSettings>({ policy: { ...DEFAULT_RETENTION }, auto: true });
  status = $state.raw<PruneStatus>({ run: 0, phase: 'idle', message: null, done: 0, total: 0 });
  /** The last clean-up's outcome (a copy; the working record is private). */
  report = $state.raw<PruneReport | null>(null);
  #report: PruneReport | null = null;
  /** Debug setting (tests, devtools): the orphan safety age. */
  orphanMinAgeMs = ORPHAN_MIN_AGE_MS;
  readonly #delivering = new Map<PeerId, Promise<void>>();

  constructor(
    private readonly db: IDBPDatabase<BackpactDB>,
    private readonly partners: BackupPartners,
    private readonly index: SnapshotIndex,
    private readonly backup: BackupService,
    private readonly restore: RestoreService,
    private readonly lock: ExclusiveLock,
  ) {
    partners.network.peers.on('link', ({ peer, link }) => void this.#deliverOnLink(peer.id, link));
    backup.onCommitted(() => void this.#afterBackup().catch(() => undefined));
  }

  /** Loads the settings and the last report, and delivers deletes to holders linked now. */
  async load(): Promise<void> {
    const stored = await this.db.get('kv', SETTINGS_KEY);
    if (stored && typeof stored === 'object') {
      try {
        this.settings = { policy: checkPolicy((stored as PruneSettings).policy), auto: (stored as PruneSettings).auto !== false };
      } catch {
        // A damaged record: keep the defaults.
      }
    }
    this.#report = ((await this.db.get('kv', REPORT_KEY)) as PruneReport | undefined) ?? null;
    await this.#refreshPending();
    for (const { peer, link } of this.partners.network.peers.links()) void this.#deliverOnLink(peer.id, link);
  }

  /** Saves new settings (validated; throws on an invalid policy, saving nothing). */
  async save(settings: PruneSettings): Promise<void> {
    const next = { policy: checkPolicy(settings.policy), auto: settings.auto };
    await this.db.put('kv', next, SETTINGS_KEY);
    this.settings = next;
  }

  /** What `policy` would keep and remove now, newest first (snapshots being restored are kept). */
  preview(policy: RetentionPolicy = this.settings.policy): { keep: RetentionPreviewItem[]; forget: RetentionPreviewItem[] } {
    const { keep, forget } = this.#decide(policy);
    return {
      keep: keep.map((k) => ({ id: k.ref.id, createdAt: k.ref.createdAt, reasons: k.reasons })),
      forget: forget.map((r) => ({ id: r.id, createdAt: r.createdAt, reasons: [] })),
    };
  }

  #decide(policy: RetentionPolicy): { keep: { ref: SnapshotRef; reasons: KeepReason[] }[]; forget: SnapshotRef[] } {
    const decision = applyRetention(this.index.refs(), policy, localOffset);
    const restoring = new Set(this.restore.jobs.filter((j) => j.state === 'fetching' || j.state === 'waiting').map((j) => j.snapshotId));
    const keep = decision.keep.map((k) => ({ ref: k.snapshot, reasons: k.reasons }));
    const forget: SnapshotRef[] = [];
    for (const r of decision.forget) {
      if (restoring.has(r.id)) keep.push({ ref: r, reasons: [] });
      else forget.push(r);
    }
    return { keep, forget };
  }

  /**
   * Applies the policy now, frees space at partners and collects orphans. Waits for a running
   * backup to finish first. Throws {@link PruneRefusedError} (nothing changed) when a kept
   * snapshot's file list cannot be had or no partner is online to record the change.
   */
  cleanUp(opts: { orphans?: 'now' | 'if-due' } = {}): Promise<PruneReport> {
    const run = this.status.run + 1;
    this.status = { run, phase: 'waiting', message: this.lock.busy ? 'Waiting for the backup or clean-up under way to finish…' : null, done: 0, total: 0 };
    return this.lock.run(async () => {
      try {
        const report = await this.#cleanUp(run, opts.orphans ?? 'now');
        this.#setStatus({ run, phase: 'done', message: this.#summary(report), done: 1, total: 1 });
        return report;
      } catch (err) {
        this.#setStatus({ run, phase: 'failed', message: err instanceof Error ? err.message : String(err), done: 0, total: 0 });
        throw err;
      }
    });
  }

  /** Shows a run's status unless a later clean-up was asked for meanwhile (it shows its own). */
  #setStatus(s: PruneStatus): void {
    if (s.run >= this.status.run) this.status = s;
  }

  async #afterBackup(): Promise<void> {
    if (!this.settings.auto) return;
    await this.cleanUp({ orphans: 'if-due' });
  }

  #summary(r: PruneReport): string {
    const freed = r.partners.reduce((n, p) => n + p.freedBytes, 0);
    const parts = [r.forgotten === 0 ? 'No backup needed removing.' : `Removed ${r.forgotten} old ${r.forgotten === 1 ? 'backup' : 'backups'}.`];
    if (r.orphans > 0) parts.push(`Cleared ${r.orphans} leftover ${r.orphans === 1 ? 'piece' : 'pieces'}.`);
    if (freed === 0 && r.partners.every((p) => p.pendingBytes === 0)) parts.push('Nothing to free at partners.');
    if (r.orphansSkipped) parts.push(r.orphansSkipped);
    return parts.join(' ');
  }

  async #cleanUp(run: number, orphans: 'now' | 'if-due'): Promise<PruneReport> {
    const step = (message: string, done: number, total: number): void => this.#setStatus({ run, phase: 'working', message, done, total });
    const report: PruneReport = { at: Date.now(), forgotten: 0, orphans: 0, orphansSkipped: null, partners: [] };
    this.#report = report;
    await this.#refreshPending();
    // Decide on the newest root record: another device may have published one.
    await Promise.all(this.#linked().map(({ id, link }) => this.index.syncWith(id, link).catch(() => undefined)));
    const { keep, forget } = this.#decide(this.settings.policy);
    if (forget.length > 0) {
      // Everything a remaining snapshot references must be known before anything is deleted.
      const kept: PackPlacement[] = [];
      for (const [i, k] of keep.entries()) {
        step('Reading the lists of files of the backups you keep…', i, keep.length + forget.length);
        const m = await this.index.manifest(k.ref.id).catch((err: unknown) => {
          throw new PruneRefusedError(`The list of files of your backup from ${new Date(k.ref.createdAt).toLocaleString()} could not be read (${err instanceof Error ? err.message : String(err)}). Nothing was removed.`);
        });
        if (!m) {
          throw new PruneRefusedError(
            `The list of files of your backup from ${new Date(k.ref.createdAt).toLocaleString()} is with partners who are offline, so Backpact cannot tell which pieces it still needs. Nothing was removed. Try again when they are online.`,
          );
        }
        kept.push(k.ref.manifest, ...m.packs);
      }
      const candidates: PackPlacement[] = [];
      for (const [i, f] of forget.entries()) {
        step('Reading the lists of files of the backups to remove…', keep.length + i, keep.length + forget.length);
        candidates.push(f.manifest);
        // Without its file list only the list itself is removed; its pieces go as orphans later.
        const m = await this.index.manifest(f.id).catch(() => null);
        if (m) candidates.push(...m.packs);
      }
      kept.push(...(await this.db.getAll('journal')).map((j) => j.placement));
      const outbox = (await this.db.getAllKeys('outbox')).map(([, shard]) => shard);
      const deletes = unreferencedShards(candidates, kept, outbox);
      step('Recording the change with your partners…', 0, 1);
      await this.index.publishWithout(new Set(forget.map((f) => f.id)), async (kv) => {
        for (const [holder, d] of deletes) {
          await this.#enqueue(kv, holder, d.shards.map((s, i) => [s, d.sizes[i]!]));
        }
      }).catch((err: unknown) => {
        throw new PruneRefusedError(err instanceof Error ? err.message : String(err));
      });
      report.forgotten = forget.length;
      await this.#refreshPending();
    }
    step('Freeing space at your partners…', 0, 1);
    // A holder that fails now keeps its queue for its next link.
    await Promise.all(this.#linked().map(({ id, link }) => this.#deliverOnLink(id, link)));

    const last = ((await this.db.get('kv', ORPHANS_AT_KEY)) as number | undefined) ?? 0;
    if (orphans === 'now' || Date.now() - last >= ORPHAN_INTERVAL_MS) {
      report.orphansSkipped = await this.#collectOrphans(report, step);
    }
    await this.#saveReport();
    return report;
  }

  async #enqueue(kv: KvInTx, holder: PeerId, shards: [ShardId, number][]): Promise<void> {
    const key = QUEUE_PREFIX + holder;
    const old = (await kv.get(key)) as QueueRecord | undefined;
    const merged = new Map<ShardId, number>(old?.shards ?? []);
    for (const [s, n] of shards) merged.set(s, n);
    await kv.put({ holder, shards: [...merged] } satisfies QueueRecord, key);
  }

  #linked(): { peer: PeerId; id: SignalingId; link: PeerLink }[] {
    const out: { peer: PeerId; id: SignalingId; link: PeerLink }[] = [];
    for (const p of this.partners.all()) {
      const link = this.partners.network.peers.linkTo(p.signalingId);
      if (link) out.push({ peer: p.peerId, id: p.signalingId, link });
    }
    return out;
  }

  #publish(): void {
    const r = this.#report;
    this.report = r ? { ...r, partners: r.partners.map((p) => ({ ...p })) } : null;
  }

  #partnerEntry(peerId: PeerId): FreedAtPartner {
    const report = (this.#report ??= { at: Date.now(), forgotten: 0, orphans: 0, orphansSkipped: null, partners: [] });
    let e = report.partners.find((p) => p.peerId === peerId);
    if (!e) {
      e = { peerId, name: this.partners.nameOf(peerId), freedBytes: 0, pendingBytes: 0 };
      report.partners.push(e);
    }
    return e;
  }

  /** Bytes of deletes waiting per holder, into the report. */
  async #refreshPending(): Promise<void> {
    const keys = await this.db.getAllKeys('kv', IDBKeyRange.bound(QUEUE_PREFIX, `${QUEUE_PREFIX}\uffff`));
    const pending = new Map<PeerId, number>();
    for (const key of keys) {
      const rec = (await this.db.get('kv', key)) as QueueRecord | undefined;
      if (rec) pending.set(rec.holder, rec.shards.reduce((n, [, size]) => n + size, 0));
    }
    for (const p of this.#report?.partners ?? []) p.pendingBytes = 0;
    for (const [peerId, bytes] of pending) this.#partnerEntry(peerId).pendingBytes = bytes;
    this.#publish();
  }

  async #saveReport(): Promise<void> {
    if (this.#report) await this.db.put('kv', this.#report, REPORT_KEY);
  }

  async #deliverOnLink(id: SignalingId, link: PeerLink): Promise<void> {
    const peer = BackupPartners.peerIdOf(id);
    if (!(await this.db.getKey('kv', QUEUE_PREFIX + peer))) return;
    // Publish first: the holder gets the root record without the forgotten snapshots before
    // any of their shards is deleted.
    try {
      await this.index.syncWith(id, link);
    } catch {
      return;
    }
    await this.#deliver(peer, link).catch(() => undefined);
    await this.#saveReport();
  }

  /** Sends `holder`'s queued deletes over `link` (one delivery per holder at a time). */
  #deliver(holder: PeerId, link: PeerLink): Promise<void> {
    const running = this.#delivering.get(holder);
    if (running) return running;
    const p = this.#deliverNow(holder, link).finally(() => this.#delivering.delete(holder));
    this.#delivering.set(holder, p);
    return p;
  }

  async #deliverNow(holder: PeerId, link: PeerLink): Promise<void> {
    const key = QUEUE_PREFIX + holder;
    let rec = (await this.db.get('kv', key)) as QueueRecord | undefined;
    if (!rec) return;
    // Deletes are checked against the root record current now, not only the one they were
    // computed from: another device of this identity may have published a newer record (adopted
    // here since) that still lists a forgotten snapshot, or a new snapshot that reuses its packs.
    const referenced = await this.#referenced();
    // A file list is with partners who are offline: nothing is deleted until it can be read.
    if (!referenced) return;
    if (rec.shards.some(([s]) => referenced.has(s))) {
      const tx = this.db.transaction('kv', 'readwrite', { durability: 'strict' });
      const cur = (await tx.store.get(key)) as QueueRecord | undefined;
      const rest = (cur?.shards ?? []).filter(([s]) => !referenced.has(s));
      if (rest.length === 0) await tx.store.delete(key);
      else await tx.store.put({ holder, shards: rest } satisfies QueueRecord, key);
      await tx.done;
      rec = { holder, shards: rest };
      this.#partnerEntry(holder).pendingBytes = rest.reduce((n, [, size]) => n + size, 0);
      this.#publish();
    }
    for (const batch of batches(rec.shards, SHARD_PAGE)) {
      await this.#sendDeletes(link, batch.map(([s]) => s));
      const tx = this.db.transaction('kv', 'readwrite', { durability: 'strict' });
      const cur = (await tx.store.get(key)) as QueueRecord | undefined;
      const sent = new Set(batch.map(([s]) => s));
      const rest = (cur?.shards ?? []).filter(([s]) => !sent.has(s));
      if (rest.length === 0) await tx.store.delete(key);
      else await tx.store.put({ holder, shards: rest } satisfies QueueRecord, key);
      await tx.done;
      const e = this.#partnerEntry(holder);
      e.freedBytes += batch.reduce((n, [, size]) => n + size, 0);
      e.pendingBytes = rest.reduce((n, [, size]) => n + size, 0);
      this.#publish();
    }
  }

  /**
   * Every shard the current root record's snapshots (file lists and the packs they name), the
   * journal and the outbox reference; null when a file list cannot be read now (it is not on this
   * device and too few of its holders are online).
   */
  async #referenced(step?: (done: number, total: number) => void): Promise<Set<ShardId> | null> {
    const refs = this.index.refs();
    const referenced = new Set<ShardId>();
    for (const [i, ref] of refs.entries()) {
      step?.(i, refs.length);
      const m = await this.index.manifest(ref.id).catch(() => null);
      if (!m) return null;
      for (const p of [ref.manifest, ...m.packs]) for (const s of p.shards) referenced.add(s.id);
    }
    for (const j of await this.db.getAll('journal')) for (const s of j.placement.shards) referenced.add(s.id);
    for (const [, shard] of await this.db.getAllKeys('outbox')) referenced.add(shard);
    return referenced;
  }

  async #sendDeletes(link: PeerLink, shards: ShardId[]): Promise<number> {
    const res = await link.request({ type: 'shard.delete', shards }, { timeoutMs: HOLDER_TIMEOUT_MS });
    return parseHolderReply('shard.deleted', res.message).count;
  }

  /** Every shard a holder lists for us (all pages). */
  async #list(link: PeerLink): Promise<ListedShard[]> {
    const out: ListedShard[] = [];
    let after: string | undefined;
    for (;;) {
      const res = await link.request(after === undefined ? { type: 'shard.list' } : { type: 'shard.list', after }, { timeoutMs: HOLDER_TIMEOUT_MS });
      const page = parseHolderReply('shard.listing', res.message);
      for (const s of page.shards) out.push({ shard: s.shard as ShardId, size: s.size, ...(s.storedAt !== undefined ? { storedAt: s.storedAt } : {}) });
      const lastShard = page.shards.at(-1)?.shard;
      // A page that does not move forward would loop for ever: stop.
      if (!page.more || lastShard === undefined || (after !== undefined && lastShard <= after)) return out;
      after = lastShard;
    }
  }

  /** Orphan collection; resolves why it was skipped (null when it ran). */
  async #collectOrphans(report: PruneReport, step: (message: string, done: number, total: number) => void): Promise<string | null> {
    const linked = this.#linked();
    if (linked.length === 0) return 'Leftover pieces are cleared when a partner is online.';
    // A newer root record from another device was adopted at the start of the clean-up: its
    // snapshots are referenced too.
    if (!this.index.hasRoot || this.index.refs().length === 0) return 'Leftover pieces are cleared once a backup is recorded.';
    const referenced = await this.#referenced((done, total) => step('Checking which pieces your backups use…', done, total));
    if (!referenced) return 'Leftover pieces were not cleared: the list of files of one of your backups is with partners who are offline.';
    for (const [i, { peer, link }] of linked.entries()) {
      step('Clearing leftover pieces at your partners…', i, linked.length);
      try {
        const listing = await this.#list(link);
        const orphans = orphansIn(listing, referenced, Date.now(), this.orphanMinAgeMs);
        const size = new Map(listing.map((s) => [s.shard, s.size]));
        for (const batch of batches(orphans.shards, SHARD_PAGE)) {
          await this.#sendDeletes(link, batch);
          report.orphans += batch.length;
          this.#partnerEntry(peer).freedBytes += batch.reduce((n, s) => n + (size.get(s) ?? 0), 0);
          this.#publish();
        }
      } catch {
        // This holder is skipped this time (link lost, old version); the others go on.
      }
    }
    await this.db.put('kv', Date.now(), ORPHANS_AT_KEY);
    this.#publish();
    return null;
  }
}
