/**
 * The owner's local index of snapshots and the root record that publishes them.
 *
 * - Publishing (the end of a backup's commit order): a new root record with seq + 1, listing the
 *   new snapshot first, is sealed, signed, and sent with `root.put` to every linked partner; only
 *   after at least one holder kept it is the local index updated, in one transaction that also
 *   clears the backup journal. Partners offline at that moment get the record when they link.
 * - Syncing: whenever a partner links, its root record is read (`root.get`). A higher valid seq
 *   than ours (another device, or a crash between publishing and the local update) is adopted;
 *   a lower one is replaced by ours.
 * - Discovery on a new device: the online ids that subscribe to us are our partners (partners
 *   with an agreement subscribe to their owner); we link to each, read their root records and
 *   keep the highest valid seq. Its partner list lets us link to the others when they come online.
 */
import type { IDBPDatabase, IDBPTransaction } from 'idb';
import { sealRootRecordWith } from '../core/backup/root-record.ts';
import { indexOf, rootBodyFor, type KnownIndex } from '../core/backup/snapshot.ts';
import type { ChunkId, PeerId, SnapshotId } from '../core/ids.ts';
import { openManifest, openRootRecord, type OpenedRootRecord, type SnapshotManifest, type SnapshotRef } from '../core/manifest/index.ts';
import { joinStripe } from '../core/pack/shards.ts';
import { MAX_ROOT_RECORD_BYTES, parseHolderReply } from '../core/partner/messages.ts';
import { fromBase64Url, toBase64Url } from '../protocol/encoding.ts';
import type { SignalingId } from '../protocol/signaling.ts';
import type { PeerLink } from '../p2p/link.ts';
import type { BackpactDB } from '../store/db.ts';
import type { JournalRecord, SnapshotRecord } from '../store/backup-schema.ts';
import type { BackupPartners } from './backup-partners.ts';
import type { LocalIdentity } from './identity.ts';
import { ShardFetcher } from './restore-fetch.ts';

const ROOT_KEY = 'backup/root';
/** `kv/repair/renamed/<old snapshot id>` = the id a repair gave that snapshot (docs/DESIGN.md §8 "Repair"). */
const RENAMED_PREFIX = 'repair/renamed/';
/** How long discovery waits for a link to each partner found online. */
export const DISCOVERY_LINK_TIMEOUT_MS = 20_000;

/** The local root record: its bytes and seq. */
interface StoredRoot {
  seq: number;
  bytes: Uint8Array;
}

/** A partner's copy of our root record, verified and opened. */
interface Fetched {
  record: OpenedRootRecord;
  bytes: Uint8Array;
}

/** The `kv` store inside a transaction: only IndexedDB requests may be awaited. */
export interface KvInTx {
  get(key: string): Promise<unknown>;
  put(value: unknown, key: string): Promise<unknown>;
}

/** A snapshot as lists show it. */
export interface SnapshotView {
  id: SnapshotId;
  createdAt: number;
  label: string | null;
  files: number | null;
  bytes: number | null;
  /** Partners whose loss the snapshot's manifest survives. */
  survivesLosing: number;
}

/** Snapshots, root record, discovery. */
export class SnapshotIndex {
  snapshots = $state<SnapshotView[]>([]);
  seq = $state(0);
  /** Discovery state for the Restore screen. */
  discovery = $state<{ state: 'idle' | 'searching' | 'done' | 'failed'; partnersFound: number; message: string | null }>({ state: 'idle', partnersFound: 0, message: null });
  readonly #manifests = new Map<SnapshotId, SnapshotManifest>();
  #root: OpenedRootRecord | null = null;
  readonly #checked = new Set<string>();
  readonly fetcher: ShardFetcher;

  constructor(
    private readonly db: IDBPDatabase<BackpactDB>,
    private readonly me: LocalIdentity,
    private readonly partners: BackupPartners,
  ) {
    this.fetcher = new ShardFetcher(partners);
    partners.network.peers.on('link', ({ peer, link }) => void this.#sync(peer.id, link).catch(() => undefined));
  }

  /** Loads the local index. */
  async load(): Promise<void> {
    const stored = (await this.db.get('kv', ROOT_KEY)) as StoredRoot | undefined;
    if (stored) {
      try {
        this.#root = await openRootRecord(stored.bytes, this.me.keys.rootRecordKey, { expectedOwner: this.me.publicKey });
        await this.partners.learn(this.#root.body.partners);
      } catch {
        this.#root = null;
      }
    }
    await this.#refresh();
    for (const { peer, link } of this.partners.network.peers.links()) void this.#sync(peer.id, link).catch(() => undefined);
  }

  /** True once a root record is known here (this device backed up, or found a backup). */
  get hasRoot(): boolean {
    return this.#root !== null;
  }

  /** Snapshot references of the current root record, newest first. */
  refs(): readonly SnapshotRef[] {
    return this.#root?.body.snapshots ?? [];
  }

  async #refresh(): Promise<void> {
    const records = await this.db.getAll('snapshots');
    const bySeq = new Map(records.map((r) => [r.id, r]));
    const order = this.refs().map((r) => r.id);
    const views: SnapshotView[] = [];
    for (const id of order) {
      const r = bySeq.get(id);
      const ref = this.refs().find((x) => x.id === id)!;
      views.push({
        id,
        createdAt: ref.createdAt,
        label: r?.summary?.label ?? null,
        files: r?.summary?.files ?? null,
        bytes: r?.summary?.bytes ?? null,
        survivesLosing: ref.manifest.shards.filter((s) => s.holder !== null).length - ref.manifest.dataCount,
      });
    }
    this.snapshots = views;
    this.seq = this.#root?.seq ?? 0;
  }

  // ---- backup side ----------------------------------------------------------------------------

  /**
   * What a new backup builds on: chunks already stored (committed snapshots whose manifests are
   * here, and packs of an interrupted backup), and its parent snapshot.
   */
  async knownForBackup(): Promise<{ index: KnownIndex; chunkIds: ChunkId[]; parent: SnapshotId | null; journal: JournalRecord[] }> {
    const manifests: Pick<SnapshotManifest, 'chunks' | 'packs'>[] = [];
    for (const ref of this.refs()) {
      const m = await this.#cachedManifest(ref.id);
      if (m) manifests.push(m);
    }
    const journal = await this.db.getAll('journal');
    manifests.push({
      packs: journal.map((j) => j.placement),
      chunks: journal.flatMap((j) => j.entries.map((e) => ({ id: e.id, packId: j.packId, offset: e.offset, length: e.length, plaintextLength: e.plaintextLength }))),
    });
    const index = indexOf(manifests);
    return { index, chunkIds: index.chunkIds(), parent: this.refs()[0]?.id ?? null, journal };
  }

  /**
   * Publishes `ref` (whose manifest and packs are durable) in a new root record and then records
   * it locally. Resolves once at least one holder kept the record and the local index is updated.
   * `waitForHolder` is called while no partner is linked to take the record.
   */
  async publish(ref: SnapshotRef, envelope: Uint8Array, summary: NonNullable<SnapshotRecord['summary']>, waitForHolder: () => Promise<void>): Promise<number> {
    return this.#exclusive(() => this.#publishWith(
      (refs) => [ref, ...refs.filter((r) => r.id !== ref.id)],
      waitForHolder,
      async (tx, seq) => {
        await tx.objectStore('snapshots').put({
          id: ref.id, createdAt: ref.createdAt, manifest: ref.manifest, envelope: envelope.slice().buffer, seq, summary,
        });
        await tx.objectStore('journal').clear();
      },
    ));
  }

  /**
   * Publishes a root record (seq + 1) in which each snapshot `old` is replaced, in place, by
   * `ref` (a repair rewrote its manifest: new holders, hence a new snapshot id), then records it
   * locally in one transaction that swaps the snapshot records. Snapshots the current record no
   * longer lists are skipped. Same rules as {@link publish}: at least one holder keeps the record
   * before anything changes here. Runs exclusively with backups' publishing (no seq is used twice).
   */
  async publishReplacing(
    replacements: readonly { old: SnapshotId; ref: SnapshotRef; envelope: Uint8Array; summary: SnapshotRecord['summary'] }[],
    waitForHolder: () => Promise<void>,
  ): Promise<number> {
    const byOld = new Map(replacements.map((r) => [r.old, r]));
    let listed: ReadonlySet<SnapshotId> = new Set();
    return this.#exclusive(() => this.#publishWith(
      (refs) => {
        listed = new Set(refs.map((r) => r.id));
        return refs.map((r) => byOld.get(r.id)?.ref ?? r);
      },
      waitForHolder,
      async (tx, seq) => {
        const store = tx.objectStore('snapshots');
        for (const r of replacements) {
          if (!listed.has(r.old)) continue;
          // Restores in progress here name the old id: it keeps leading to the repaired manifest.
          if (r.old !== r.ref.id) await tx.objectStore('kv').put(r.ref.id, `${RENAMED_PREFIX}${r.old}`);
          this.#manifests.delete(r.old);
          await store.delete(r.old);
          await store.put({ id: r.ref.id, createdAt: r.ref.createdAt, manifest: r.ref.manifest, envelope: r.envelope.slice().buffer, seq, summary: r.summary });
        }
      },
    ));
  }

  #lock: Promise<unknown> = Promise.resolve();

  /** Runs `fn` after every earlier publish settled (two publishes never share a seq). */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  async #publishWith(
    refsFrom: (current: readonly SnapshotRef[]) => SnapshotRef[],
    waitForHolder: () => Promise<void>,
    apply: (tx: IDBPTransaction<BackpactDB, ('kv' | 'snapshots' | 'journal')[], 'readwrite'>, seq: number) => Promise<void>,
  ): Promise<number> {
    const partners = this.partners.all().filter((p) => p.running).map((p) => ({ publicKey: p.publicKey, label: p.name }));
    const body = rootBodyFor(refsFrom(this.refs()), partners);
    const seq = (this.#root?.seq ?? 0) + 1;
    const bytes = await sealRootRecordWith((tag, m) => this.me.signTagged(tag, m), this.me.publicKey, this.me.keys.rootRecordKey, seq, body);
    if (bytes.length > MAX_ROOT_RECORD_BYTES) throw new Error('the root record grew too large');
    for (;;) {
      const links = this.partners.holders().map((p) => this.partners.network.peers.linkTo(p.signalingId)).filter((l): l is PeerLink => !!l);
      const results = await Promise.allSettled(links.map((l) => this.#putRoot(l, bytes)));
      if (results.some((r) => r.status === 'fulfilled' && r.value)) break;
      await waitForHolder();
    }
    const opened = await openRootRecord(bytes, this.me.keys.rootRecordKey, { expectedOwner: this.me.publicKey });
    const tx = this.db.transaction(['kv', 'snapshots', 'journal'], 'readwrite', { durability: 'strict' });
    await apply(tx, seq);
    await tx.objectStore('kv').put({ seq, bytes } satisfies StoredRoot, ROOT_KEY);
    await tx.done;
    this.#root = opened;
    await this.#refresh();
    return seq;
  }

  /**
   * Retention (docs/DESIGN.md §7.12): publishes a root record (seq + 1) without the snapshots of
   * `forget` to every linked holder first; once at least one kept it, in one strict transaction,
   * removes them from the local index, stores the record and runs `alsoInTx` (which must only
   * touch the given `kv` store, e.g. to queue deletes). Throws, having changed nothing here, when
   * no holder is online to keep the record or when it would forget every snapshot.
   */
  async publishWithout(
    forget: ReadonlySet<SnapshotId>,
    alsoInTx: (kv: KvInTx) => Promise<void>,
  ): Promise<{ seq: number; keptBy: number }> {
    const remaining = this.refs().filter((r) => !forget.has(r.id));
    if (remaining.length === 0) throw new Error('A backup always keeps its newest snapshot.');
    const partners = this.partners.all().filter((p) => p.running).map((p) => ({ publicKey: p.publicKey, label: p.name }));
    const body = rootBodyFor(remaining, partners);
    const seq = (this.#root?.seq ?? 0) + 1;
    const bytes = await sealRootRecordWith((tag, m) => this.me.signTagged(tag, m), this.me.publicKey, this.me.keys.rootRecordKey, seq, body);
    const links = this.partners.holders().map((p) => this.partners.network.peers.linkTo(p.signalingId)).filter((l): l is PeerLink => !!l);
    const results = await Promise.allSettled(links.map((l) => this.#putRoot(l, bytes)));
    const keptBy = results.filter((r) => r.status === 'fulfilled' && r.value).length;
    if (keptBy === 0) throw new Error('None of your partners is online to record the change, so nothing was removed. Try again when one is connected.');
    const opened = await openRootRecord(bytes, this.me.keys.rootRecordKey, { expectedOwner: this.me.publicKey });
    const tx = this.db.transaction(['kv', 'snapshots'], 'readwrite', { durability: 'strict' });
    for (const id of forget) await tx.objectStore('snapshots').delete(id);
    await tx.objectStore('kv').put({ seq, bytes } satisfies StoredRoot, ROOT_KEY);
    await alsoInTx(tx.objectStore('kv'));
    await tx.done;
    for (const id of forget) this.#manifests.delete(id);
    this.#root = opened;
    await this.#refresh();
    return { seq, keptBy };
  }

  /**
   * Reads `link`'s copy of our root record and adopts it when newer (another device published),
   * or gives it ours when older. Retention calls this before deciding what is unreferenced.
   */
  async syncWith(id: SignalingId, link: PeerLink): Promise<void> {
    await this.#sync(id, link);
  }

  /** Sends our root record; true when the holder keeps it (or already has this or a newer one). */
  async #putRoot(link: PeerLink, bytes: Uint8Array): Promise<boolean> {
    try {
      const res = await link.request({ type: 'root.put', record: toBase64Url(bytes) }, { timeoutMs: 30_000 });
      parseHolderReply('root.stored', res.message);
      return true;
    } catch {
      return false;
    }
  }

  // ---- sync and discovery ---------------------------------------------------------------------

  /** Reads a partner's copy of our root record; null when it has none or it does not verify. */
  async #getRoot(link: PeerLink): Promise<Fetched | null> {
    const res = await link.request({ type: 'root.get' }, { timeoutMs: 30_000 });
    const { record: text } = parseHolderReply('root.record', res.message);
    if (text === null) return null;
    const bytes = fromBase64Url(text);
    if (!bytes || bytes.length > MAX_ROOT_RECORD_BYTES) return null;
    try {
      return { record: await openRootRecord(bytes, this.me.keys.rootRecordKey, { expectedOwner: this.me.publicKey }), bytes };
    } catch {
      return null;
    }
  }

  async #sync(id: SignalingId, link: PeerLink): Promise<Fetched | null> {
    const theirs = await this.#getRoot(link);
    this.#checked.add(id);
    if (theirs && theirs.record.seq > (this.#root?.seq ?? 0)) await this.#adopt(theirs);
    else if (this.#root && (!theirs || theirs.record.seq < this.#root.seq)) {
      const stored = (await this.db.get('kv', ROOT_KEY)) as StoredRoot | undefined;
      if (stored) await this.#putRoot(link, stored.bytes);
    }
    return theirs;
  }

  async #adopt({ record, bytes }: Fetched): Promise<void> {
    if (record.seq <= (this.#root?.seq ?? 0)) return;
    const tx = this.db.transaction(['kv', 'snapshots'], 'readwrite', { durability: 'strict' });
    for (const s of record.body.snapshots) {
      const existing = await tx.objectStore('snapshots').get(s.id);
      if (!existing) await tx.objectStore('snapshots').put({ id: s.id, createdAt: s.createdAt, manifest: s.manifest, envelope: null, seq: record.seq, summary: null });
    }
    // Snapshots the newer record no longer lists were forgotten (retention on another device):
    // the local index follows, so audits and dedup stop using them.
    const listed = new Set(record.body.snapshots.map((s) => s.id));
    for (const id of await tx.objectStore('snapshots').getAllKeys()) {
      if (!listed.has(id)) {
        await tx.objectStore('snapshots').delete(id);
        this.#manifests.delete(id);
      }
    }
    await tx.objectStore('kv').put({ seq: record.seq, bytes } satisfies StoredRoot, ROOT_KEY);
    await tx.done;
    this.#root = record;
    await this.partners.learn(record.body.partners);
    await this.#refresh();
  }

  /**
   * Finds our backup from partners online now: links to every id that subscribes to us, reads
   * their root records and adopts the highest valid one. Resolves the number of partners that
   * answered with a valid record.
   */
  async discover(): Promise<number> {
    this.discovery = { state: 'searching', partnersFound: 0, message: null };
    try {
      const net = this.partners.network;
      await net.ready();
      const subscribers = [...new Set((await net.signaling.subscribers()).map((p) => p.id))];
      // A peer we are negotiating an invite with subscribes to us too; it is not (yet) a partner.
      const ids = this.partners.negotiating() ? subscribers.filter((id) => this.partners.hasAgreementWith(id)) : subscribers;
      const found = await Promise.all(ids.map(async (id) => {
        await net.peers.addPartner(id);
        try {
          const link = await net.peers.waitForLink(id, DISCOVERY_LINK_TIMEOUT_MS);
          return (await this.#sync(id, link)) !== null;
        } catch {
          return false;
        }
      }));
      const n = found.filter(Boolean).length;
      this.discovery = {
        state: 'done',
        partnersFound: n,
        message: n === 0 ? (ids.length === 0 ? 'None of your partners is online right now. Keep this page open: your backup appears as soon as one connects.' : 'Partners answered, but none holds a backup of yours.') : null,
      };
      return n;
    } catch (err) {
      this.discovery = { state: 'failed', partnersFound: 0, message: err instanceof Error ? err.message : String(err) };
      throw err;
    }
  }

  // ---- manifests ------------------------------------------------------------------------------

  async #cachedManifest(id: SnapshotId): Promise<SnapshotManifest | null> {
    const hit = this.#manifests.get(id);
    if (hit) return hit;
    const rec = await this.db.get('snapshots', id);
    if (!rec?.envelope) return null;
    const m = await openManifest(this.me.keys.indexKey, new Uint8Array(rec.envelope), id);
    this.#manifests.set(id, m);
    return m;
  }

  /**
   * The manifest of snapshot `id`: from this device, or fetched from holders (any k verified
   * shards) and kept. Resolves null while too few of its holders are online.
   */
  async manifest(id: SnapshotId): Promise<SnapshotManifest | null> {
    const cached = await this.#cachedManifest(id);
    if (cached) return cached;
    const ref = this.refs().find((r) => r.id === id);
    if (!ref) {
      // A repair may have given it a new id (followed at most a few times: ids can repeat).
      let renamed: SnapshotId | undefined = id;
      for (let i = 0; i < 8 && renamed; i++) {
        renamed = (await this.db.get('kv', `${RENAMED_PREFIX}${renamed}`)) as SnapshotId | undefined;
        if (renamed && this.refs().some((r) => r.id === renamed)) return this.manifest(renamed);
      }
      throw new Error('This snapshot is not in your backup list.');
    }
    const shards = await this.fetcher.fetch(ref.manifest);
    if (!shards) return null;
    const envelope = await joinStripe(shards, ref.manifest.dataCount, ref.manifest.length, ref.manifest.packId, undefined, 'object');
    const m = await openManifest(this.me.keys.indexKey, envelope, id);
    const summary = { label: m.label, files: m.files.filter((f) => f.kind === 'file').length, bytes: m.files.reduce((n, f) => n + f.size, 0) };
    const rec = await this.db.get('snapshots', id);
    await this.db.put('snapshots', { id, createdAt: ref.createdAt, manifest: ref.manifest, seq: rec?.seq ?? this.seq, envelope: envelope.slice().buffer, summary });
    this.#manifests.set(id, m);
    await this.#refresh();
    return m;
  }

  /** Holder PeerIds of the current root record's snapshots (for the dashboard). */
  holdersOfLatest(): PeerId[] {
    const ref = this.refs()[0];
    return ref ? ref.manifest.shards.map((s) => s.holder).filter((h): h is PeerId => h !== null) : [];
  }
}
