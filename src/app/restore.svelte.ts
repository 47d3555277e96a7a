/**
 * Restores, pack by pack, surviving reloads. A job names a snapshot and the chosen paths; its
 * packs are fetched (any k verified shards, from whichever holders are linked), rebuilt and
 * decrypted in the worker pool (pack id and every chunk's tag and id are verified there), and
 * the chunks the chosen files need are kept in IndexedDB as Blobs together with the job's
 * progress, in one transaction per pack. Packs whose holders are offline wait; the job goes on
 * whenever a partner links. A pack that the linked holders cannot complete keeps the verified
 * shards they gave (as Blobs, beside the chunks), so a pack is gathered over time from partners
 * who are never online together, across reloads; they are dropped when the pack is decoded or
 * the job removed. When every pack is in, the result is put together without reading
 * the chunks into memory (a Blob of Blobs): the file itself, or a store-only zip of many.
 */
import type { IDBPDatabase } from 'idb';
import { planRestore, type RestorePlan } from '../core/backup/restore-plan.ts';
import { baseName } from '../core/backup/tree.ts';
import { crc32Combine, ZipWriter } from '../core/backup/zip.ts';
import type { ChunkId, PackId, SnapshotId } from '../core/ids.ts';
import type { PackPlacement } from '../core/manifest/placement.ts';
import type { SnapshotManifest } from '../core/manifest/index.ts';
import type { BackpactDB } from '../store/db.ts';
import { keptShardKey, type RestoreChunkRecord, type RestoreJobRecord } from '../store/backup-schema.ts';
import { decodePack, shardRoot, startRestore } from '../workers/restore.ts';
import type { PackChunks } from '../workers/protocol.ts';
import type { WorkerPool } from '../workers/pool.ts';
import type { BackupPartners } from './backup-partners.ts';
import { shardMatches, type GatheredStripe } from './restore-fetch.ts';
import type { LocalIdentity } from './identity.ts';
import type { SnapshotIndex } from './snapshots.svelte.ts';

/** Fetch slots: stripes fetched at once (each slot may also have one stripe being stored). */
export const RESTORE_PARALLEL_PACKS = 6;

/** A restore as the UI shows it. */
export interface RestoreJobView {
  id: string;
  snapshotId: SnapshotId;
  name: string;
  files: number;
  bytes: number;
  packs: number;
  packsDone: number;
  state: RestoreJobRecord['state'] | 'waiting';
  /** Why it failed, or (waiting) whom it waits for: "Waiting for Ben or Cleo to come online." */
  message: string | null;
  /** Partners the unfinished packs wait for (names), while waiting. */
  waitingFor: string[];
  /** Shards kept for packs not complete yet, and how many packs they belong to. */
  keptShards: number;
  keptPacks: number;
}

/** "Ben", "Ben or Cleo", "Ana, Ben or Cleo". */
export function eitherOf(names: readonly string[]): string {
  if (names.length <= 1) return names[0] ?? '';
  return `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]!}`;
}

function view(j: RestoreJobRecord, waitingFor: string[] | undefined, kept: IDBValidKey[]): RestoreJobView {
  const packs = j.pending.length + j.done.length;
  const waiting = j.state === 'fetching' && waitingFor !== undefined;
  const message = waiting
    ? waitingFor.length > 0 ? `Waiting for ${eitherOf(waitingFor)} to come online.` : 'Waiting for the list of files from a partner.'
    : j.message;
  return {
    id: j.id, snapshotId: j.snapshotId, name: j.name, files: j.files, bytes: j.bytes, packs, packsDone: j.done.length,
    state: waiting ? 'waiting' : j.state, message, waitingFor: waiting ? waitingFor : [],
    keptShards: kept.length, keptPacks: new Set(kept.map((k) => String((k as [string, string])[1]).split(':')[1])).size,
  };
}

/** Key range of the shards job `id` keeps (all packs, or one). */
function keptRange(id: string, packId?: PackId): IDBKeyRange {
  const prefix = packId ? `shard:${packId}:` : 'shard:';
  return IDBKeyRange.bound([id, prefix], [id, `${prefix}\uffff`]);
}

/** Restores of snapshots. */
export class RestoreService {
  jobs = $state<RestoreJobView[]>([]);
  /** Jobs waiting for partners, with the names of those who could give the missing shards. */
  readonly #waiting = new Map<string, string[]>();
  readonly #running = new Map<string, Promise<void>>();
  /** Jobs to run again once their current run ends (a partner linked meanwhile). */
  readonly #again = new Set<string>();
  #decoderReady: Promise<void> | null = null;

  constructor(
    private readonly db: IDBPDatabase<BackpactDB>,
    private readonly me: LocalIdentity,
    private readonly partners: BackupPartners,
    private readonly index: SnapshotIndex,
    private readonly pool: () => WorkerPool,
  ) {
    partners.network.peers.on('link', () => void this.resumeAll());
  }

  /** Counters of shards fetched (all restores of this page). */
  get counters() {
    return this.index.fetcher.counters;
  }

  /** Loads jobs and resumes the unfinished ones. */
  async load(): Promise<void> {
    await this.#refresh();
    void this.resumeAll();
  }

  async #refresh(): Promise<void> {
    const all = (await this.db.getAll('restoreJobs')).sort((a, b) => b.createdAt - a.createdAt);
    const kept = await Promise.all(all.map((j) => (j.state === 'fetching' ? this.db.getAllKeys('restoreChunks', keptRange(j.id)) : [])));
    this.jobs = all.map((j, i) => view(j, this.#waiting.get(j.id), kept[i]!));
  }

  /** Plans a restore of `paths` (everything when empty) without starting it. */
  async plan(snapshotId: SnapshotId, paths: readonly string[]): Promise<RestorePlan | null> {
    const m = await this.index.manifest(snapshotId);
    return m ? planRestore(m, paths) : null;
  }

  /**
   * Starts restoring `paths` of a snapshot (everything when empty); resolves the job id. The
   * result is one file when a single file is chosen, a zip otherwise.
   */
  async start(snapshotId: SnapshotId, paths: readonly string[]): Promise<string> {
    const manifest = await this.index.manifest(snapshotId);
    if (!manifest) throw new Error('The list of files of this snapshot is with partners who are offline now. Try again when one of them connects.');
    const plan = planRestore(manifest, paths);
    const single = plan.entries.length === 1 && plan.entries[0]!.kind === 'file';
    const date = new Date(manifest.createdAt).toISOString().slice(0, 10);
    const name = single ? baseName(plan.entries[0]!.path) : paths.length === 1 ? `${baseName(paths[0]!)}.zip` : `backpact-${date}.zip`;
    const id = crypto.randomUUID();
    const job: RestoreJobRecord = {
      id, snapshotId, paths: [...paths], output: single ? 'file' : 'zip', name,
      pending: plan.packs.map((p) => p.placement.packId), done: [], bytes: plan.bytes, files: plan.files,
      createdAt: Date.now(), state: plan.packs.length === 0 ? 'ready' : 'fetching', message: null,
    };
    await this.db.put('restoreJobs', job);
    await this.#refresh();
    void this.#resume(id);
    return id;
  }

  /** Resolves once job `id` is ready to save (or rejects when it failed). */
  async whenReady(id: string): Promise<void> {
    for (;;) {
      const job = await this.db.get('restoreJobs', id);
      if (!job) throw new Error('no such restore');
      if (job.state === 'ready' || job.state === 'saved') return;
      if (job.state === 'failed') throw new Error(job.message ?? 'the restore failed');
      await (this.#running.get(id) ?? this.#nextChange());
    }
  }

  #changeWaiters: (() => void)[] = [];
  #nextChange(): Promise<void> {
    return new Promise((r) => this.#changeWaiters.push(r));
  }
  #changed(): void {
    for (const r of this.#changeWaiters.splice(0)) r();
  }

  /** Resumes every unfinished job (after a reload, or when a partner links). */
  async resumeAll(): Promise<void> {
    for (const j of await this.db.getAll('restoreJobs')) if (j.state === 'fetching') void this.#resume(j.id);
  }

  #resume(id: string): Promise<void> {
    const running = this.#running.get(id);
    if (running) {
      // A partner linked while this run was going: run once more when it ends.
      this.#again.add(id);
      return running;
    }
    const p = this.#fetch(id)
      .catch(async (err: unknown) => {
        const job = await this.db.get('restoreJobs', id);
        if (job) await this.db.put('restoreJobs', { ...job, state: 'failed', message: err instanceof Error ? err.message : String(err) });
      })
      .finally(async () => {
        this.#running.delete(id);
        await this.#refresh();
        this.#changed();
        if (this.#again.delete(id)) void this.#resume(id);
      });
    this.#running.set(id, p);
    return p;
  }

  async #fetch(id: string): Promise<void> {
    const job = await this.db.get('restoreJobs', id);
    if (!job || job.state !== 'fetching') return;
    const manifest = await this.index.manifest(job.snapshotId);
    if (!manifest) {
      this.#waiting.set(id, []);
      return;
    }
    const plan = planRestore(manifest, job.paths);
    const needs = new Map(plan.packs.map((p) => [p.placement.packId, p]));
    // The pool starts (workers load, keys imported) while the first shards are on their way: the
    // fetches do not need it, only decoding does (a new device paid ~2 s here before asking for
    // any shard). A failed start is not remembered, so the next run tries again.
    const decoderReady = (this.#decoderReady ??= startRestore(this.pool(), { dataKey: this.me.keys.dataKey, dedupKey: this.me.keys.dedupKey }).catch((err: unknown) => {
      this.#decoderReady = null;
      throw err;
    }));
    decoderReady.catch(() => undefined);
    // Shards are checked against their Merkle roots in the workers, off the page's thread.
    const pool = this.pool();
    this.index.fetcher.rootOf = (bytes) => shardRoot(pool, bytes);
    const queue = [...job.pending];
    const waitingFor = new Set<string>();
    let missing = 0;
    const fetcher = this.index.fetcher;
    /** A stripe the linked holders cannot complete now: keep what they gave, note whom it waits for. */
    const incomplete = async (placement: PackPlacement, have: ReadonlyMap<number, Uint8Array>, got: GatheredStripe): Promise<void> => {
      missing++;
      await this.#keep(id, placement, got.fetched.map((i) => [i, got.shards[i]!]));
      const had = new Set([...have.keys(), ...got.fetched]);
      for (const h of fetcher.waitingFor(placement, had)) waitingFor.add(this.partners.nameOf(h));
    };
    const decode = async (packId: PackId, chunks: readonly ChunkId[], shards: (Uint8Array | null)[], placement: PackPlacement): Promise<PackChunks> => {
      await decoderReady;
      return decodePack(this.pool(), {
        shards,
        ref: { packId, length: placement.length, dataCount: placement.dataCount },
        chunkIds: [...chunks],
        crc: job.output === 'zip',
      });
    };
    const store = async (packId: PackId, chunks: readonly ChunkId[], got: GatheredStripe, placement: PackPlacement): Promise<void> => {
      let decoded: PackChunks;
      try {
        decoded = await decode(packId, chunks, got.shards, placement);
        fetcher.confirm(placement, got.unchecked);
      } catch (err) {
        if (got.unchecked.length === 0) throw err;
        // A shard taken without its Merkle check (§7.6) may be the cause: fetch the stripe again,
        // checking every shard, the same shards first so a holder that lied is found and counted.
        const have = await this.#kept(id, placement);
        const again = await fetcher.gather(placement, have, undefined, true, { prefer: new Set(got.unchecked) });
        if (!again.complete) {
          await incomplete(placement, have, again);
          return;
        }
        decoded = await decode(packId, chunks, again.shards, placement);
      }
      const records: RestoreChunkRecord[] = decoded.chunks.map((c) => ({
        job: id, chunk: c.id, data: new Blob([c.data as Uint8Array<ArrayBuffer>]), length: c.data.length, crc: c.crc ?? 0,
      }));
      // Relaxed durability: chunks and progress commit together, so a crash loses at most the
      // latest packs, which are fetched again; nothing here is acknowledged to anyone.
      // The pack's kept shards (if it was gathered over time) go in the same transaction.
      // Nothing is written if the job was removed meanwhile (or no longer waits for this pack).
      const tx = this.db.transaction(['restoreJobs', 'restoreChunks'], 'readwrite', { durability: 'relaxed' });
      const cur = await tx.objectStore('restoreJobs').get(id);
      if (!cur || !cur.pending.includes(packId)) {
        tx.abort();
        await tx.done.catch(() => undefined);
        return;
      }
      await tx.objectStore('restoreChunks').delete(keptRange(id, packId));
      for (const r of records) await tx.objectStore('restoreChunks').put(r);
      const pending = cur.pending.filter((x) => x !== packId);
      await tx.objectStore('restoreJobs').put({ ...cur, pending, done: [...cur.done, packId], state: pending.length === 0 ? 'ready' : 'fetching' });
      await tx.done;
      await this.#refresh();
      this.#changed();
    };
    // Fetching and storing overlap: a slot asks for its next stripe while the previous one is
    // decoded and stored, so holders are not left idle; at most one stripe per slot waits.
    // Shards that complete a stripe come unchecked (`lazy`): decoding verifies the pack id and
    // every chunk's tag and id, and a failure fetches the stripe again with every shard checked.
    const worker = async (): Promise<void> => {
      let storing: Promise<void> = Promise.resolve();
      for (let packId = queue.shift(); packId !== undefined; packId = queue.shift()) {
        const need = needs.get(packId);
        if (!need) throw new Error(`pack ${packId} is not in this snapshot`);
        const have = await this.#kept(id, need.placement);
        const got = await fetcher.gather(need.placement, have, undefined, true, { lazy: true });
        await storing;
        if (!got.complete) {
          await incomplete(need.placement, have, got);
          continue;
        }
        storing = store(packId, need.chunks, got, need.placement);
        storing.catch(() => undefined);
      }
      await storing;
    };
    await Promise.all(Array.from({ length: RESTORE_PARALLEL_PACKS }, worker));
    if (missing > 0) this.#waiting.set(id, [...waitingFor].sort());
    else this.#waiting.delete(id);
  }

  /** The verified shards job `id` kept for `placement` (re-checked; a bad one is dropped). */
  async #kept(id: string, placement: PackPlacement): Promise<Map<number, Uint8Array>> {
    const out = new Map<number, Uint8Array>();
    const records = await this.db.getAll('restoreChunks', keptRange(id, placement.packId));
    for (const r of records) {
      const bytes = new Uint8Array(await r.data.arrayBuffer());
      if (r.shard !== undefined && shardMatches(placement, r.shard, bytes)) out.set(r.shard, bytes);
      else await this.db.delete('restoreChunks', [id, r.chunk]);
    }
    return out;
  }

  /** Keeps verified shards of a pack that cannot be completed now, for a later run. */
  async #keep(id: string, placement: PackPlacement, shards: [number, Uint8Array][]): Promise<void> {
    if (shards.length === 0) return;
    const tx = this.db.transaction(['restoreJobs', 'restoreChunks'], 'readwrite', { durability: 'relaxed' });
    // Only while the job still exists and waits for this pack (it may have been removed meanwhile).
    const cur = await tx.objectStore('restoreJobs').get(id);
    if (cur?.state === 'fetching' && cur.pending.includes(placement.packId)) {
      for (const [i, bytes] of shards) {
        await tx.objectStore('restoreChunks').put({
          job: id, chunk: keptShardKey(placement.packId, i), data: new Blob([bytes as Uint8Array<ArrayBuffer>]), length: bytes.length, crc: 0, shard: i,
        });
      }
    }
    await tx.done;
    await this.#refresh();
    this.#changed();
  }

  /**
   * The result of a ready job as a Blob (disk-backed parts; nothing is read into memory) and its
   * file name.
   */
  async result(id: string): Promise<{ name: string; blob: Blob }> {
    const { job, plan, partsOf, chunks } = await this.#ready(id);
    if (job.output === 'file') {
      const entry = plan.entries[0]!;
      return { name: job.name, blob: new Blob(partsOf(entry.chunks), { type: 'application/octet-stream' }) };
    }
    const zip = new ZipWriter();
    const parts: BlobPart[] = [];
    for (const e of plan.entries) {
      let crc = 0;
      for (const c of e.chunks) {
        const r = chunks.get(c)!;
        crc = crc32Combine(crc, r.crc, r.length);
      }
      parts.push(zip.entry({ name: e.path, kind: e.kind, size: e.size, crc, mtime: e.mtime }) as Uint8Array<ArrayBuffer>, ...partsOf(e.chunks));
    }
    parts.push(zip.finish() as Uint8Array<ArrayBuffer>);
    return { name: job.name, blob: new Blob(parts, { type: 'application/zip' }) };
  }

  async #ready(id: string): Promise<{ job: RestoreJobRecord; plan: RestorePlan; chunks: Map<ChunkId, RestoreChunkRecord>; partsOf: (ids: readonly ChunkId[]) => Blob[] }> {
    const job = await this.db.get('restoreJobs', id);
    if (!job || (job.state !== 'ready' && job.state !== 'saved')) throw new Error('This restore is not complete yet.');
    const manifest = (await this.index.manifest(job.snapshotId)) as SnapshotManifest;
    const plan = planRestore(manifest, job.paths);
    const chunks = new Map<ChunkId, RestoreChunkRecord>();
    for (const r of await this.db.getAllFromIndex('restoreChunks', 'by-job', id)) if (r.shard === undefined) chunks.set(r.chunk as ChunkId, r);
    const partsOf = (ids: readonly ChunkId[]): Blob[] => ids.map((c) => {
      const r = chunks.get(c);
      if (!r) throw new Error(`chunk ${c} is missing from the restore`);
      return r.data;
    });
    return { job, plan, chunks, partsOf };
  }

  /**
   * Writes a ready job's files into a folder (File System Access API: a folder the person picked
   * with `showDirectoryPicker`, or the origin-private file system), keeping the paths, each file
   * streamed from its chunk Blobs. Marks the job saved.
   */
  async saveToDirectory(id: string, root: FileSystemDirectoryHandle): Promise<void> {
    const { plan, partsOf } = await this.#ready(id);
    for (const e of plan.entries) {
      const segments = e.path.split('/');
      const last = segments.pop()!;
      let dir = root;
      for (const s of segments) dir = await dir.getDirectoryHandle(s, { create: true });
      if (e.kind === 'directory') {
        await dir.getDirectoryHandle(last, { create: true });
        continue;
      }
      const handle = await dir.getFileHandle(last, { create: true });
      const writable = await handle.createWritable();
      await new Blob(partsOf(e.chunks)).stream().pipeTo(writable);
    }
    await this.#markSaved(id);
  }

  async #markSaved(id: string): Promise<void> {
    const job = await this.db.get('restoreJobs', id);
    if (job) await this.db.put('restoreJobs', { ...job, state: 'saved' });
    await this.#refresh();
  }

  /** Saves a ready job as a download and marks it saved. */
  async save(id: string): Promise<void> {
    const { name, blob } = await this.result(id);
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    a.style.display = 'none';
    document.body.append(a);
    a.click();
    a.remove();
    // The download reads the Blob after this turn; keep the URL alive meanwhile.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    await this.#markSaved(id);
  }

  /** Forgets a job and the chunks and shards it kept. */
  async remove(id: string): Promise<void> {
    const tx = this.db.transaction(['restoreJobs', 'restoreChunks'], 'readwrite');
    for (const key of await tx.objectStore('restoreChunks').index('by-job').getAllKeys(id)) await tx.objectStore('restoreChunks').delete(key);
    await tx.objectStore('restoreJobs').delete(id);
    await tx.done;
    await this.#refresh();
  }
}

