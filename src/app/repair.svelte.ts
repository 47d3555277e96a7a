/**
 * Repair (docs/DESIGN.md §8 "Repair"): when a partner fails its audits, is dropped, or its agreement
 * ends — or a holder reports single shards damaged — every shard it held for us is rebuilt from
 * any k others of its pack, checked against its Merkle root, and placed with another partner.
 * Then, in this order:
 *
 * 1. every placed shard is recorded in `kv/repair/job` as it is acknowledged (resumable);
 * 2. the snapshot manifests that name a moved shard (or whose own shards were at a lost holder)
 *    are rewritten with the new holders, sealed and placed as new manifest packs, durable like a
 *    backup's manifest;
 * 3. a root record with seq + 1 naming the new manifests is published (at least one holder keeps
 *    it) and the local index swaps the snapshot records in the same transaction;
 * 4. only then the old holders are told they may delete (`shard.delete`, queued under
 *    `kv/repair/delete/<peerId>` until they link; they may never answer), together with the
 *    shards of the replaced manifests, and the job and the damage reports it covered are cleared.
 *
 * A reload anywhere re-plans from the current root record plus the job: shards already placed are
 * not sent again, and a manifest that already names the new holders is not rewritten.
 */
import type { IDBPDatabase } from 'idb';
import { damageVerdict, mayBeUnreliable, type DamageLogItem } from '../core/audit/damage.ts';
import { planStripes } from '../core/backup/plan.ts';
import type { PackId, PeerId, ShardId, SnapshotId } from '../core/ids.ts';
import { sealManifest, type PackPlacement, type SnapshotManifest, type SnapshotRef } from '../core/manifest/index.ts';
import { objectId as packIdOf } from '../core/pack/pack.ts';
import { stripePack, stripeRoots } from '../core/pack/shards.ts';
import { parseHolderReply, SHARD_PAGE } from '../core/partner/messages.ts';
import { applyMoves, isLost, planRepair, rebuildShards, type LostSet, type RepairCandidate, type RepairTask, type ShardMove } from '../core/repair/index.ts';
import type { PeerLink } from '../p2p/link.ts';
import type { BackpactDB } from '../store/db.ts';
import { auditSummaries } from './audits.ts';
import { BackupPartners, putShard } from './backup-partners.ts';
import { PlacementRefusedError } from './backup-upload.ts';
import { toHex } from '../core/encoding/bytes.ts';
import type { BackupService } from './backup.svelte.ts';
import { StripeUploader } from './backup-upload.ts';
import type { LocalIdentity } from './identity.ts';
import type { OutboxService } from './outbox.ts';
import { ShardFetcher } from './restore-fetch.ts';
import type { SnapshotIndex } from './snapshots.svelte.ts';

const JOB_KEY = 'repair/job';
const LAST_KEY = 'repair/last';
const DELETE_PREFIX = 'repair/delete/';
/** Written by holder scrub reports: `kv/damaged/<holderPeerId>` = {@link DamageReport}. */
export const DAMAGED_PREFIX = 'damaged/';
/** Written with every damage report received (health.svelte.ts): `kv/scrub/received/<holderPeerId>` = `[{ at, count }, …]`. */
const DAMAGE_LOG_PREFIX = 'scrub/received/';
/** How often an open page looks for something to repair (audits, links and start also trigger it). */
export const REPAIR_CHECK_MS = 5 * 60_000;

/** A holder's report of shards it found damaged. */
export interface DamageReport {
  shards: string[];
  reportedAt: number;
}

/** A shard rebuilt and acknowledged by its new holder, not yet in a published root record. */
interface StoredMove extends ShardMove {
  from: PeerId;
  shardLength: number;
}

/** `kv/repair/job`. */
interface RepairJob {
  v: 1;
  startedAt: number;
  moves: StoredMove[];
}

/** `kv/repair/last`: the last finished repair, for the dashboard. */
interface LastRepair {
  v: 1;
  finishedAt: number;
  moved: number;
  from: string[];
  to: string[];
}

/**
 * Longest a round waits for partners while it holds the lock that backups and clean-ups share;
 * then it gives up (nothing is published) and the next link starts it again.
 */
export const REPAIR_WAIT_MS = 120_000;

/** A round stopped waiting for partners (see {@link REPAIR_WAIT_MS}); not a failure. */
export class RepairWaitError extends Error {
  override name = 'RepairWaitError';
  constructor() {
    super('Waiting for partners to come online to record the repair; it carries on when they do.');
  }
}

/** What the dashboard shows. */
export interface RepairStatus {
  phase: 'idle' | 'repairing' | 'waiting' | 'done';
  /** Pieces placed with their new holder, of `total`. */
  moved: number;
  total: number;
  /** Names of the partners pieces move away from, and to. */
  from: string[];
  to: string[];
  /** Plain words: what the repair waits for, or what went wrong. */
  message: string | null;
  /** True when pieces wait because no partner has room: the person can add a partner. */
  needsPartner?: boolean;
}

/** Counters tests and the debug handle read. */
export interface RepairCounters {
  rebuilt: number;
  placed: number;
  published: number;
  /** Shard ids each holder acknowledged deleting on request, by PeerId. */
  deletesSent: Record<string, number>;
}

const IDLE: RepairStatus = { phase: 'idle', moved: 0, total: 0, from: [], to: [], message: null };
/** How long the dashboard keeps saying a repair finished. */
const DONE_SHOWN_MS = 24 * 3600_000;

/** Watches for lost shards and repairs them. */
export class RepairService {
  status = $state<RepairStatus>({ ...IDLE });
  readonly counters: RepairCounters = { rebuilt: 0, placed: 0, published: 0, deletesSent: {} };
  /** A fresh one per round: shards it found bad are not held against later rounds. */
  #fetcher: ShardFetcher;
  #running: Promise<void> | null = null;
  #again = false;
  /**
   * Runs a round under the lock that backups and clean-ups take (set by `BackupServices`): all
   * three publish root records and decide what holders may delete, each from the snapshot list it
   * read, so they must never interleave.
   */
  exclusive: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn();

  constructor(
    private readonly db: IDBPDatabase<BackpactDB>,
    private readonly me: LocalIdentity,
    private readonly partners: BackupPartners,
    private readonly outbox: OutboxService,
    private readonly index: SnapshotIndex,
    private readonly backup: BackupService,
  ) {
    this.#fetcher = new ShardFetcher(partners);
  }

  /** Shows the last finished repair, starts watching links and the clock, and checks once. */
  async start(): Promise<void> {
    const last = (await this.db.get('kv', LAST_KEY)) as LastRepair | undefined;
    if (last && Date.now() - last.finishedAt < DONE_SHOWN_MS) this.status = doneStatus(last);
    this.partners.network.peers.on('link', ({ peer }) => {
      void this.#flushDeletes(BackupPartners.peerIdOf(peer.id)).catch(() => undefined);
      void this.check();
    });
    // A new partner (or more room agreed) may be what a waiting repair needs.
    this.partners.onAgreementStored(() => void this.check());
    setInterval(() => void this.check(), REPAIR_CHECK_MS);
    for (const { peer } of this.partners.network.peers.links()) void this.#flushDeletes(BackupPartners.peerIdOf(peer.id)).catch(() => undefined);
    void this.check();
  }

  /** Looks for lost shards and repairs what it can now (one round at a time; calls meanwhile queue one more). */
  check(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    const run = async (): Promise<void> => {
      do {
        this.#again = false;
        try {
          await this.exclusive(() => this.#round());
        } catch (err) {
          // No partner has room for the rewritten file lists: the person can add a partner.
          this.status = err instanceof PlacementRefusedError && err.noRoom
            ? { ...this.status, phase: 'waiting', message: 'Waiting for a partner with room: your partners’ agreed space is full.', needsPartner: true }
            : err instanceof RepairWaitError
              ? { ...this.status, phase: 'waiting', message: err.message }
              : { ...this.status, phase: 'waiting', message: `Repair paused: ${err instanceof Error ? err.message : String(err)}` };
        }
      } while (this.#again);
    };
    this.#running = run().finally(() => (this.#running = null));
    return this.#running;
  }

  /**
   * What is lost now: partners failing or dropped in audits or with ended agreements, and damage
   * reports; `suspects` are holders that reported so much damage lately that, depending on how
   * many shards they keep for us, they may count as failing too (core `damageVerdict`).
   */
  async #lost(): Promise<{ holders: Set<PeerId>; damaged: Map<ShardId, PeerId>; suspects: Map<PeerId, DamageLogItem[]> }> {
    const holders = new Set<PeerId>(this.partners.ended());
    for (const a of await auditSummaries(this.db)) if (a.state === 'failing' || a.state === 'dropped') holders.add(a.peerId as PeerId);
    const damaged = new Map<ShardId, PeerId>();
    for (const [peer, report] of await this.#damageReports()) for (const s of report.shards) damaged.set(s as ShardId, peer);
    const suspects = new Map<PeerId, DamageLogItem[]>();
    const logs = IDBKeyRange.bound(DAMAGE_LOG_PREFIX, `${DAMAGE_LOG_PREFIX}\uffff`);
    for (const key of await this.db.getAllKeys('kv', logs)) {
      const log = (await this.db.get('kv', key)) as DamageLogItem[] | undefined;
      const peer = String(key).slice(DAMAGE_LOG_PREFIX.length) as PeerId;
      if (Array.isArray(log) && !holders.has(peer) && mayBeUnreliable(log, Date.now())) suspects.set(peer, log);
    }
    return { holders, damaged, suspects };
  }

  async #damageReports(): Promise<Map<PeerId, DamageReport>> {
    const out = new Map<PeerId, DamageReport>();
    const range = IDBKeyRange.bound(DAMAGED_PREFIX, `${DAMAGED_PREFIX}\uffff`);
    let cursor = await this.db.transaction('kv').store.openCursor(range);
    while (cursor) {
      const v = cursor.value as DamageReport | undefined;
      if (v && Array.isArray(v.shards)) out.set(String(cursor.key).slice(DAMAGED_PREFIX.length) as PeerId, v);
      cursor = await cursor.continue();
    }
    return out;
  }

  async #round(): Promise<void> {
    if (this.backup.running) return; // its commit publishes a root record; the next check repairs
    this.#fetcher = new ShardFetcher(this.partners);
    const refs = this.index.refs();
    if (refs.length === 0) return;
    const { holders: lostHolders, damaged, suspects } = await this.#lost();
    const job = ((await this.db.get('kv', JOB_KEY)) as RepairJob | undefined) ?? { v: 1, startedAt: Date.now(), moves: [] };
    const moves = new Map<ShardId, StoredMove>(job.moves.map((m) => [m.shardId, m]));
    if (lostHolders.size === 0 && damaged.size === 0 && moves.size === 0 && suspects.size === 0) return this.#nothingToDo();

    // The manifests of the listed snapshots (cached here, or fetched from holders).
    const manifests = new Map<SnapshotId, SnapshotManifest>();
    for (const ref of refs) {
      const m = await this.index.manifest(ref.id).catch(() => null);
      if (m) manifests.set(ref.id, m);
    }
    // A holder that reported more damage than its share tolerates is treated as failing: every
    // shard it keeps is rebuilt elsewhere, none is given back to it (core/audit/damage.ts).
    if (suspects.size > 0) {
      const held = new Map<PeerId, number>();
      const count = (p: PackPlacement): void => {
        for (const sh of p.shards) if (sh.holder) held.set(sh.holder, (held.get(sh.holder) ?? 0) + 1);
      };
      for (const r of refs) count(r.manifest);
      for (const m of manifests.values()) m.packs.forEach(count);
      for (const [peer, log] of suspects) if (damageVerdict(log, held.get(peer) ?? 0, Date.now()).unreliable) lostHolders.add(peer);
    }
    // Shards already moved by this job are not lost any more (even a damaged one given back to its reporter).
    const lost: LostSet = { holders: lostHolders, shards: new Map([...damaged].filter(([id]) => !moves.has(id))) };
    const placements = new Map<PackId, PackPlacement>();
    for (const m of manifests.values()) for (const p of m.packs) if (!placements.has(p.packId)) placements.set(p.packId, applyMoves(p, moves));
    const manifestLost = refs.some((r) => r.manifest.shards.some((s) => isLost(s, { holders: lostHolders, shards: damaged })));
    const anyLost = [...placements.values()].some((p) => p.shards.some((s) => isLost(s, lost)));
    // (A report naming shards no placement puts at its reporter is left alone: it changes nothing.)
    if (!anyLost && moves.size === 0 && !manifestLost) return this.#nothingToDo();
    const candidates: RepairCandidate[] = [];
    const pending = await this.outbox.pending();
    for (const p of this.partners.holders()) {
      if (lostHolders.has(p.peerId)) continue;
      const link = this.partners.link(p.peerId);
      const spare = link ? await this.#room(link).catch(() => 0) : 0;
      candidates.push({ peerId: p.peerId, reachable: !!link, spareBytes: spare - (pending.get(p.peerId)?.bytes ?? 0), onePerPack: p.probation === true });
    }
    const plan = planRepair([...placements.values()], lost, candidates);
    if (plan.tasks.length === 0 && moves.size === 0 && !manifestLost) {
      if (plan.unrecoverable.length > 0) this.status = { ...IDLE, phase: 'waiting', message: `${plan.unrecoverable.length} ${plan.unrecoverable.length === 1 ? 'piece' : 'pieces'} of your backup cannot be rebuilt: too few partners still hold them.` };
      return;
    }

    const fromNames = (): string[] => unique([...moves.values()].map((m) => m.from).concat(plan.tasks.map((t) => t.from))).map((h) => this.partners.nameOf(h));
    const toNames = (): string[] => unique([...moves.values()].map((m) => m.to).concat(plan.tasks.flatMap((t) => (t.to ? [t.to] : [])))).map((h) => this.partners.nameOf(h));
    const total = moves.size + plan.tasks.length;
    const publishStatus = (phase: RepairStatus['phase'], message: string | null, needsPartner = false): void => {
      this.status = { phase, moved: moves.size, total, from: fromNames(), to: toNames(), message, needsPartner };
    };
    publishStatus('repairing', null);

    // Rebuild and place, pack by pack.
    let waitingForPartners = false;
    let unplaced = plan.tasks.filter((t) => t.to === null).length;
    const byPack = new Map<PackId, RepairTask[]>();
    for (const t of plan.tasks) if (t.to) byPack.set(t.packId, [...(byPack.get(t.packId) ?? []), t]);
    for (const [packId, tasks] of byPack) {
      const p = placements.get(packId)!;
      // Fetch from surviving holders only: never from a lost holder, nor a shard being rebuilt.
      const source: PackPlacement = { ...p, shards: p.shards.map((s) => (isLost(s, lost) ? { ...s, holder: null } : s)) };
      const got = await this.#fetcher.fetch(source);
      if (!got) {
        waitingForPartners = true;
        continue;
      }
      const rebuilt = rebuildShards(p, got, tasks.map((t) => t.index));
      this.counters.rebuilt += rebuilt.size;
      for (const t of tasks) {
        const link = this.partners.link(t.to!);
        try {
          if (!link) throw new Error('offline');
          await putShard(link, t.shardId, rebuilt.get(t.index)!, undefined, toHex(p.shards[t.index]!.merkleRoot));
        } catch {
          // Offline since, or refused (less room than it listed): the next check plans it again.
          unplaced++;
          continue;
        }
        this.counters.placed++;
        moves.set(t.shardId, { packId, index: t.index, shardId: t.shardId, to: t.to!, from: t.from, shardLength: t.shardLength });
        // One transaction: the job records the move, and a delete of this shard still queued for
        // its new holder (from an earlier move away from it) is withdrawn, or it would remove the live copy.
        const tx = this.db.transaction('kv', 'readwrite', { durability: 'strict' });
        await tx.store.put({ ...job, moves: [...moves.values()] } satisfies RepairJob, JOB_KEY);
        const queued = (await tx.store.get(DELETE_PREFIX + t.to!)) as string[] | undefined;
        if (queued?.includes(t.shardId)) {
          const left = queued.filter((id) => id !== t.shardId);
          if (left.length === 0) await tx.store.delete(DELETE_PREFIX + t.to!);
          else await tx.store.put(left, DELETE_PREFIX + t.to!);
        }
        await tx.done;
        publishStatus('repairing', null);
      }
    }

    // Rewrite the manifests that name moved shards, publish, then let the old holders delete.
    const why = unplaced > 0
      ? `Waiting for a partner with room: ${unplaced} ${unplaced === 1 ? 'piece' : 'pieces'} cannot be moved yet.`
      : waitingForPartners ? 'Waiting for partners to come online to rebuild the rest.' : null;
    if (manifests.size < refs.length) {
      publishStatus('waiting', 'Waiting for partners to come online to read your file lists.');
      return;
    }
    // Partners known to be full (reachable, no room left after this plan) cannot take the rewritten file lists.
    const full = new Set<PeerId>();
    for (const c of candidates) {
      const assigned = plan.tasks.reduce((n, t) => n + (t.to === c.peerId ? t.shardLength : 0), 0);
      if (c.reachable && c.spareBytes - assigned <= 0) full.add(c.peerId);
    }
    if (moves.size > 0 || manifestLost) await this.#commit(refs, manifests, moves, lostHolders, full, damaged, (m, needsPartner) => publishStatus('waiting', m, needsPartner));
    if (why) publishStatus('waiting', why, unplaced > 0);
  }

  /** Nothing is lost (any more): a "repairing" or "waiting" message goes away; "finished" stays. */
  #nothingToDo(): void {
    if (this.status.phase === 'repairing' || this.status.phase === 'waiting') this.status = { ...IDLE };
  }

  /** Bytes a holder still accepts from us (its `shard.list` answer). */
  async #room(link: PeerLink): Promise<number> {
    const res = await link.request({ type: 'shard.list' }, { timeoutMs: 30_000 });
    const { used, allowed } = parseHolderReply('shard.listing', res.message);
    return allowed === null ? 0 : Math.max(0, allowed - used);
  }

  async #commit(
    refs: readonly SnapshotRef[], manifests: ReadonlyMap<SnapshotId, SnapshotManifest>, moves: ReadonlyMap<ShardId, StoredMove>,
    lostHolders: ReadonlySet<PeerId>, full: ReadonlySet<PeerId>, damaged: ReadonlyMap<ShardId, PeerId>, wait: (message: string, needsPartner?: boolean) => void,
  ): Promise<void> {
    const healthy = this.partners.holders().filter((p) => !lostHolders.has(p.peerId) && !full.has(p.peerId));
    if (healthy.length === 0) {
      wait('Waiting for a partner with room to take your file lists.', true);
      return;
    }
    const stripePlan = planStripes(healthy.map((p) => ({ peerId: p.peerId, availability: p.availability })));
    const lostAll: LostSet = { holders: lostHolders, shards: damaged };
    const controller = new AbortController();
    const giveUp = setTimeout(() => controller.abort(new RepairWaitError()), REPAIR_WAIT_MS);
    const up = new StripeUploader(this.db, this.partners, this.outbox, stripePlan.holders, controller.signal);
    const replacements: { old: SnapshotId; ref: SnapshotRef; envelope: Uint8Array; summary: { label: string; files: number; bytes: number } }[] = [];
    const oldManifestShards: { holder: PeerId; id: ShardId }[] = [];
    try {
      for (const ref of refs) {
        const m = manifests.get(ref.id)!;
        const packs = m.packs.map((p) => applyMoves(p, moves));
        const changed = packs.some((p, i) => p !== m.packs[i]) || ref.manifest.shards.some((s) => isLost(s, lostAll));
        if (!changed) continue;
        const sealed = await sealManifest(this.me.keys.indexKey, { ...m, packs });
        const id = await packIdOf(sealed.envelope);
        const stripe = stripePack(sealed.envelope, id, stripePlan.k, stripePlan.m, this.me.keys.shardNameKey);
        const placement = await up.place({ ...stripe, length: stripe.packLength, merkleRoots: stripeRoots(stripe) }, null);
        await up.waitDurable([id], (w) => wait(`Waiting for ${[...w.holders].map((h) => this.partners.nameOf(h)).join(', ') || 'partners'} to come online to record the repair.`));
        replacements.push({
          old: ref.id, ref: { id: sealed.id, createdAt: ref.createdAt, manifest: placement }, envelope: sealed.envelope,
          summary: { label: m.label, files: m.files.filter((f) => f.kind === 'file').length, bytes: m.files.reduce((n, f) => n + f.size, 0) },
        });
        for (const s of ref.manifest.shards) if (s.holder) oldManifestShards.push({ holder: s.holder, id: s.id });
      }
    } finally {
      clearTimeout(giveUp);
      up.close();
    }
    if (replacements.length > 0) {
      await this.index.publishReplacing(replacements, () => new Promise<void>((resolve, reject) => {
        wait('Waiting for a partner to come online to record the repair…');
        const timer = setTimeout(() => {
          off();
          reject(new RepairWaitError());
        }, REPAIR_WAIT_MS);
        const off = this.partners.network.peers.on('link', () => {
          clearTimeout(timer);
          off();
          resolve();
        });
      }));
      this.counters.published++;
    }

    // Published: old copies may go. Queue the deletes, clear the job and the reports it covered, in one transaction.
    const deletes = new Map<PeerId, Set<string>>();
    const add = (h: PeerId, id: string): void => void (deletes.get(h) ?? deletes.set(h, new Set()).get(h)!).add(id);
    for (const m of moves.values()) if (m.from !== m.to) add(m.from, m.shardId);
    for (const s of oldManifestShards) add(s.holder, s.id);
    const reports = await this.#damageReports();
    const last: LastRepair = {
      v: 1, finishedAt: Date.now(), moved: moves.size,
      from: unique([...moves.values()].map((m) => m.from)).map((h) => this.partners.nameOf(h)),
      to: unique([...moves.values()].map((m) => m.to)).map((h) => this.partners.nameOf(h)),
    };
    const tx = this.db.transaction('kv', 'readwrite', { durability: 'strict' });
    for (const [holder, ids] of deletes) {
      const queued = ((await tx.store.get(DELETE_PREFIX + holder)) as string[] | undefined) ?? [];
      await tx.store.put(unique([...queued, ...ids]), DELETE_PREFIX + holder);
    }
    for (const [holder, report] of reports) {
      const left = report.shards.filter((s) => !moves.has(s as ShardId) && damaged.get(s as ShardId) === holder);
      if (left.length === 0) await tx.store.delete(DAMAGED_PREFIX + holder);
      else if (left.length < report.shards.length) await tx.store.put({ ...report, shards: left } satisfies DamageReport, DAMAGED_PREFIX + holder);
    }
    await tx.store.delete(JOB_KEY);
    if (moves.size > 0) await tx.store.put(last, LAST_KEY);
    await tx.done;
    this.status = moves.size > 0 ? doneStatus(last) : { ...IDLE };
    for (const holder of deletes.keys()) void this.#flushDeletes(holder).catch(() => undefined);
  }

  readonly #flushing = new Map<PeerId, Promise<void>>();

  /** Sends the queued deletes to `holder` if it is linked; what it acknowledged leaves the queue. */
  #flushDeletes(holder: PeerId): Promise<void> {
    const running = this.#flushing.get(holder);
    if (running) return running;
    const p = (async () => {
      const ids = ((await this.db.get('kv', DELETE_PREFIX + holder)) as string[] | undefined) ?? [];
      const link = ids.length > 0 ? this.partners.link(holder) : undefined;
      if (!link) return;
      const sent = new Set<string>();
      for (let i = 0; i < ids.length; i += SHARD_PAGE) {
        const batch = ids.slice(i, i + SHARD_PAGE);
        const res = await link.request({ type: 'shard.delete', shards: batch }, { timeoutMs: 30_000 });
        parseHolderReply('shard.deleted', res.message);
        for (const id of batch) sent.add(id);
        this.counters.deletesSent[holder] = (this.counters.deletesSent[holder] ?? 0) + batch.length;
      }
      const tx = this.db.transaction('kv', 'readwrite');
      const left = (((await tx.store.get(DELETE_PREFIX + holder)) as string[] | undefined) ?? []).filter((id) => !sent.has(id));
      if (left.length === 0) await tx.store.delete(DELETE_PREFIX + holder);
      else await tx.store.put(left, DELETE_PREFIX + holder);
      await tx.done;
    })().finally(() => this.#flushing.delete(holder));
    this.#flushing.set(holder, p);
    return p;
  }
}

function doneStatus(last: LastRepair): RepairStatus {
  return { phase: 'done', moved: last.moved, total: last.moved, from: last.from, to: last.to, message: null };
}

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}
