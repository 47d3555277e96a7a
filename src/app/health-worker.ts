/**
 * The service worker's part in partner health beyond audits (docs/DESIGN.md §8 "Warnings before a
 * drop" and "Holder self-check (scrub)"):
 *
 * - after each audit run, decides per partner which warning is due (core `partnerWarning`,
 *   `decideWarning`), remembers what was acted on under `kv/warn/state/<peerId>`, queues the
 *   notice for the partner in the same record (an open page delivers it over the link), and
 *   returns the system notifications to show — once per partner per change of level;
 * - runs the holder's self-check in bounded batches from the position kept under `kv/scrub/state`,
 *   and queues what it finds damaged under `kv/scrub/report/<ownerPeerId>` for an open page to
 *   report to the owner.
 *
 * Needs only IndexedDB and WebCrypto, like `audits.ts`; every write is a single read-modify-write
 * transaction, so a page clearing a delivered notice or report never races with the worker.
 */
import type { IDBPDatabase } from 'idb';
import { decideWarning, partnerWarning, type HealthNotice, type PartnerWarning, type WarningMemo } from '../core/audit/warnings.ts';
import { initialScrubState, mergeShardIds, scrubBatch, type DamageFound, type ScrubState } from '../core/holder/scrub.ts';
import type { BackpactDB } from '../store/db.ts';
import { IdbHolderStore } from '../store/holder-store.ts';
import { partnerAgreements, type AuditState } from './audits.ts';

/** `kv/warn/state/<peerId>`: the owner's warning memo for one partner and the notice to deliver. */
export interface WarnStateRecord {
  v: 1;
  peerId: string;
  /** The partner's public key (base32), to reach it and to bind the notice to it. */
  partnerKey: string;
  name: string;
  memo: WarningMemo;
  /** Notice not yet acknowledged by the partner (the newest replaces an older one); null when none. */
  outgoing: HealthNotice | null;
}

/** `kv/scrub/report/<ownerPeerId>`: damaged shards found here, not yet acknowledged by the owner. */
export interface DamageReportRecord {
  v: 1;
  owner: string;
  shards: string[];
  /** Unix ms of the first finding still unreported. */
  since: number;
}

/** `kv/scrub/found/<ownerPeerId>`: how many of the owner's shards this device found damaged, ever. */
export interface DamageFoundRecord {
  count: number;
  lastAt: number;
}

/** A notification the owner should see. */
export interface OwnerNotification {
  peerId: string;
  name: string;
  warning: PartnerWarning;
}

export const warnStateKey = (peerId: string): string => `warn/state/${peerId}`;
export const scrubReportKey = (owner: string): string => `scrub/report/${owner}`;
export const scrubFoundKey = (owner: string): string => `scrub/found/${owner}`;
export const SCRUB_STATE_KEY = 'scrub/state';

/** Decides every partner's warning after an audit run; resolves the notifications due. */
export async function updateWarnings(db: IDBPDatabase<BackpactDB>, now = Date.now()): Promise<OwnerNotification[]> {
  const out: OwnerNotification[] = [];
  for (const { signed, other, peerId } of await partnerAgreements(db)) {
    if (signed.terms.endsAt !== null) continue;
    const tx = db.transaction('kv', 'readwrite');
    const audit = (await tx.store.get(`audit/${peerId}`)) as AuditState | undefined;
    if (!audit) {
      await tx.done;
      continue;
    }
    const prev = (await tx.store.get(warnStateKey(peerId))) as WarnStateRecord | undefined;
    const warning = partnerWarning(audit.health, now, signed.terms.graceS, signed.terms.auditIntervalS);
    const d = decideWarning(prev?.memo, warning, now);
    if (d.send || !prev) {
      const next: WarnStateRecord = { v: 1, peerId, partnerKey: other.publicKey, name: other.name, memo: d.memo, outgoing: d.send ?? prev?.outgoing ?? null };
      await tx.store.put(next, warnStateKey(peerId));
    }
    await tx.done;
    if (d.notify && warning) out.push({ peerId, name: other.name, warning });
  }
  return out;
}

/** Plain words of an owner-side notification. */
export function ownerNotificationText(n: OwnerNotification): { title: string; body: string } {
  const until = n.warning.dropAt !== null ? new Date(n.warning.dropAt).toLocaleDateString() : '';
  switch (n.warning.level) {
    case 'unreachable':
      return {
        title: `${n.name} could not be reached`,
        body: `${n.name}’s copy of your backup has not been checked since ${new Date(n.warning.since).toLocaleDateString()}. If this goes on until ${until}, Backpact will stop using ${n.name} and move your data.`,
      };
    case 'failing':
      return {
        title: `${n.name} failed a check`,
        body: `${n.name}’s copy of your backup did not pass a check. Backpact is rebuilding the pieces ${n.name} kept with another partner; if the next checks fail too (around ${until}), it will stop using ${n.name}.`,
      };
    default:
      return { title: `Backpact stopped using ${n.name}`, body: `${n.name} no longer keeps your backup safely; your data is being moved to your other partners.` };
  }
}

/** What a scrub run did. */
export interface ScrubRun {
  checked: number;
  found: DamageFound[];
  passDone: boolean;
  state: ScrubState;
}

/**
 * Runs the holder's self-check: one batch, or (`untilPassDone`) batches until the pass ends.
 * Damage found is queued for the owners before the position moves on.
 */
export async function runScrub(db: IDBPDatabase<BackpactDB>, opts: { force?: boolean; untilPassDone?: boolean } = {}, now: () => number = () => Date.now()): Promise<ScrubRun> {
  const store = new IdbHolderStore(db);
  let state = ((await db.get('kv', SCRUB_STATE_KEY)) as ScrubState | undefined) ?? initialScrubState();
  // A whole pass asked for now starts from the beginning, even if one is under way.
  if (opts.force && opts.untilPassDone) state = { ...state, after: null, passStartedAt: null };
  const run: ScrubRun = { checked: 0, found: [], passDone: false, state };
  let first = true;
  for (;;) {
    const r = await scrubBatch(store, state, now, { force: first && opts.force === true });
    first = false;
    await queueReports(db, r.found, now());
    await db.put('kv', r.state, SCRUB_STATE_KEY);
    state = r.state;
    run.checked += r.checked;
    run.found.push(...r.found);
    run.passDone = r.passDone;
    run.state = state;
    if (!opts.untilPassDone || r.passDone || (r.checked === 0 && state.passStartedAt === null)) return run;
  }
}

async function queueReports(db: IDBPDatabase<BackpactDB>, found: DamageFound[], now: number): Promise<void> {
  if (found.length === 0) return;
  const byOwner = new Map<string, string[]>();
  for (const f of found) byOwner.set(f.owner, [...(byOwner.get(f.owner) ?? []), f.shard]);
  const tx = db.transaction('kv', 'readwrite', { durability: 'strict' });
  for (const [owner, shards] of byOwner) {
    const prev = (await tx.store.get(scrubReportKey(owner))) as DamageReportRecord | undefined;
    const next: DamageReportRecord = { v: 1, owner, shards: mergeShardIds(prev?.shards ?? [], shards), since: prev?.since ?? now };
    await tx.store.put(next, scrubReportKey(owner));
    const found = (await tx.store.get(scrubFoundKey(owner))) as DamageFoundRecord | undefined;
    await tx.store.put({ count: (found?.count ?? 0) + shards.length, lastAt: now } satisfies DamageFoundRecord, scrubFoundKey(owner));
  }
  await tx.done;
}
