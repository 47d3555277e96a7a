/**
 * The page's part in warnings and the holder self-check (docs/DESIGN.md §8). The service worker
 * decides (warnings after audits, scrub findings); this service carries what it queued over the
 * bound links, receives the partners' messages, and keeps what the UI shows:
 *
 * - owner → partner `health.warning`: the notice queued under `kv/warn/state/<peerId>`, signed
 *   here (the identity's key lives with the page) and sent when that partner is linked; cleared
 *   once acknowledged, retried on every later link and audit run otherwise;
 * - holder → owner `holder.damage`: the shards queued under `kv/scrub/report/<owner>`, removed
 *   once the owner acknowledged them;
 * - received notices (`kv/warn/in/<ownerPeerId>`, the newest per owner, deleted on the all-clear),
 *   each shown once as a system notification where permitted;
 * - received damage reports: merged into `kv/damaged/<holderPeerId>` = `{ shards, reportedAt }`
 *   (the repair's input) and logged under `kv/scrub/received/<holderPeerId>` for the timeline.
 */
import type { IDBPDatabase } from 'idb';
import { otherParty, publicKeyText } from '../core/agreement/index.ts';
import { HEALTH_NOTICE_TAG, healthNoticeBytes, verifyHealthNotice, type HealthNotice } from '../core/audit/warnings.ts';
import { fromBase32, fromHex, toHex } from '../core/encoding/bytes.ts';
import { mergeShardIds, type ScrubState } from '../core/holder/scrub.ts';
import { parseHealthReply, REFUSAL, type PartnerRequest } from '../core/partner/messages.ts';
import { RequestRefusedError } from '../p2p/errors.ts';
import { signalingIdOf } from '../p2p/identity.ts';
import type { IncomingRequest, OutgoingResponse } from '../p2p/link.ts';
import type { PeerAddress } from '../protocol/signaling.ts';
import type { BackpactDB } from '../store/db.ts';
import { SCRUB_STATE_KEY, scrubFoundKey, scrubReportKey, warnStateKey, type DamageFoundRecord, type DamageReportRecord, type WarnStateRecord } from './health-worker.ts';
import type { LocalIdentity } from './identity.ts';
import type { AppNetwork, RequestRoute } from './network.ts';
import type { Requester } from './holder.ts';
import type { PartnershipService } from './partnerships.svelte.ts';

/** Most damage reports kept per holder for the timeline. */

/** Most shard ids kept in one holder's damage record (`kv/damaged/<holder>`). */
export const MAX_DAMAGED_IDS = 4096;
export const DAMAGE_LOG = 50;
/** Time for a partner to acknowledge a notice or report. */
const HEALTH_TIMEOUT_MS = 30_000;

/** A notice an owner sent this device about the data it keeps for them (`kv/warn/in/<owner>`). */
export interface ReceivedNotice extends HealthNotice {
  owner: string;
  name: string;
  sig: string;
  receivedAt: number;
}

/** One damage report a holder made to us. */
export interface DamageLogEntry {
  at: number;
  count: number;
}

/** The repair's input (`kv/damaged/<holderPeerId>`): shards the holder reported damaged. */
export interface DamagedRecord {
  shards: string[];
  reportedAt: number;
}

const inKey = (owner: string): string => `warn/in/${owner}`;
const logKey = (holder: string): string => `scrub/received/${holder}`;
const damagedKey = (holder: string): string => `damaged/${holder}`;

function prefix(p: string): IDBKeyRange {
  return IDBKeyRange.bound(p, `${p}\uffff`);
}

/** Notification permission as the UI needs it. */
export type NotificationState = NotificationPermission | 'unsupported';

/** Warnings and self-check on the page. */
export class HealthService implements RequestRoute {
  /** Notices from owners about this device (level is never `ok`: the all-clear deletes them). */
  received = $state<ReceivedNotice[]>([]);
  /** Damage reports received, per holder PeerId (owner side). */
  reports = $state<Record<string, DamageLogEntry[]>>({});
  /** Shards found damaged on this device, per owner PeerId (holder side). */
  damagedHere = $state<Record<string, number>>({});
  /** Progress of the self-check on this device. */
  scrub = $state<ScrubState | null>(null);
  notifications = $state<NotificationState>('unsupported');
  readonly #sending = new Set<string>();
  #permissionStatus: PermissionStatus | null = null;
  readonly #scrubWaiters = new Map<string, (r: { checked: number; found: number; passDone: boolean }) => void>();

  constructor(
    private readonly me: LocalIdentity,
    private readonly net: AppNetwork,
    private readonly db: IDBPDatabase<BackpactDB>,
    private readonly partnerships: PartnershipService,
    private readonly now: () => number = () => Date.now(),
  ) {
    net.peers.on('link', () => void this.deliver());
    if (typeof Notification !== 'undefined') this.notifications = Notification.permission;
  }

  /** Loads what is stored and delivers anything pending. */
  async start(): Promise<void> {
    if ('serviceWorker' in navigator) {
      navigator.serviceWorker.addEventListener('message', (event: MessageEvent) => {
        const data = event.data as { type?: string; id?: string; checked?: number; found?: number; passDone?: boolean } | null;
        if (data?.type === 'audit-results') void this.deliver();
        if (data?.type === 'scrub-results') {
          void this.refresh().then(() => this.deliver());
          const waiter = data.id ? this.#scrubWaiters.get(data.id) : undefined;
          if (waiter) {
            this.#scrubWaiters.delete(data.id!);
            waiter({ checked: data.checked ?? 0, found: data.found ?? 0, passDone: data.passDone === true });
          }
        }
      });
    }
    // Follow the permission live: the person may change it in the browser's settings at any time.
    void navigator.permissions?.query({ name: 'notifications' }).then((status) => {
      // Kept on the service so the status object (and its listener) lives as long as the page.
      this.#permissionStatus = status;
      const update = (): void => {
        const state = this.#permissionStatus?.state ?? 'prompt';
        this.notifications = state === 'prompt' ? 'default' : state;
      };
      update();
      status.addEventListener('change', update);
    }).catch(() => undefined);
    await this.refresh();
    void this.deliver();
  }

  serves(type: PartnerRequest['type']): boolean {
    return type === 'health.warning' || type === 'holder.damage';
  }

  async handle(from: Requester & { address: PeerAddress }, req: PartnerRequest, _incoming: IncomingRequest): Promise<OutgoingResponse> {
    const name = this.#partnerName(from.publicKey);
    if (name === null) throw new RequestRefusedError(REFUSAL.noAgreement, 'There is no backup agreement with this partner.');
    if (req.type === 'health.warning') {
      const notice: HealthNotice = { level: req.level, since: req.since, dropAt: req.dropAt, at: req.at };
      if (!verifyHealthNotice(from.publicKey, this.me.publicKey, notice, fromHex(req.sig))) {
        throw new RequestRefusedError(REFUSAL.badRequest, 'the warning is not signed by this partner');
      }
      await this.#receiveNotice(from.peerId, name, notice, req.sig);
      return { message: { type: 'health.noted' } };
    }
    if (req.type === 'holder.damage') {
      await this.#receiveDamage(from.peerId, req.shards);
      return { message: { type: 'holder.damage-noted', count: req.shards.length } };
    }
    throw new RequestRefusedError(REFUSAL.badRequest, `${req.type} is not a health message`);
  }

  /** Asks for permission to show notifications (only ever from a button the person pressed). */
  async requestNotifications(): Promise<void> {
    if (typeof Notification === 'undefined') return;
    this.notifications = await Notification.requestPermission();
  }

  /**
   * Runs a whole self-check pass now in the service worker and resolves what it found (for the
   * developer tools and tests); the findings are then reported like any others.
   */
  async scrubNow(): Promise<{ checked: number; found: number; passDone: boolean }> {
    const reg = await navigator.serviceWorker.ready;
    const id = crypto.randomUUID();
    const done = new Promise<{ checked: number; found: number; passDone: boolean }>((resolve) => this.#scrubWaiters.set(id, resolve));
    reg.active?.postMessage({ type: 'scrub-now', id, force: true, untilPassDone: true });
    return done;
  }

  /** Reloads what the UI shows. */
  async refresh(): Promise<void> {
    this.received = ((await this.db.getAll('kv', prefix('warn/in/'))) as ReceivedNotice[]).sort((a, b) => b.at - a.at);
    const reports: Record<string, DamageLogEntry[]> = {};
    const keys = (await this.db.getAllKeys('kv', prefix('scrub/received/'))) as string[];
    for (const k of keys) reports[k.slice('scrub/received/'.length)] = (await this.db.get('kv', k)) as DamageLogEntry[];
    this.reports = reports;
    // Counted by the worker as it finds damage (listing the held shards would read their bytes).
    const damaged: Record<string, number> = {};
    for (const p of this.partnerships.partners) {
      const found = (await this.db.get('kv', scrubFoundKey(p.peerId))) as DamageFoundRecord | undefined;
      if (found && found.count > 0) damaged[p.peerId] = found.count;
    }
    this.damagedHere = damaged;
    this.scrub = ((await this.db.get('kv', SCRUB_STATE_KEY)) as ScrubState | undefined) ?? null;
  }

  /** Sends every queued notice and damage report whose partner is linked. */
  async deliver(): Promise<void> {
    for (const rec of (await this.db.getAll('kv', prefix('warn/state/'))) as WarnStateRecord[]) {
      if (rec.outgoing) await this.#once(`warn:${rec.peerId}`, () => this.#sendNotice(rec));
    }
    for (const rec of (await this.db.getAll('kv', prefix('scrub/report/'))) as DamageReportRecord[]) {
      if (rec.shards.length > 0) await this.#once(`damage:${rec.owner}`, () => this.#sendReport(rec));
    }
  }

  async #once(key: string, fn: () => Promise<void>): Promise<void> {
    if (this.#sending.has(key)) return;
    this.#sending.add(key);
    try {
      await fn();
    } catch {
      // Link lost, timeout or refusal: it stays queued and goes again on the next link.
    } finally {
      this.#sending.delete(key);
    }
  }

  async #sendNotice(rec: WarnStateRecord): Promise<void> {
    const partnerKey = fromBase32(rec.partnerKey);
    const link = this.net.peers.linkTo(signalingIdOf(partnerKey));
    const notice = rec.outgoing;
    if (!link || !notice) return;
    const sig = await this.me.signTagged(HEALTH_NOTICE_TAG, healthNoticeBytes(partnerKey, notice));
    const res = await link.request({ type: 'health.warning', ...notice, sig: toHex(sig) }, { timeoutMs: HEALTH_TIMEOUT_MS });
    parseHealthReply('health.noted', res.message);
    const tx = this.db.transaction('kv', 'readwrite');
    const current = (await tx.store.get(warnStateKey(rec.peerId))) as WarnStateRecord | undefined;
    // Clear only what was sent: a newer notice queued meanwhile goes next time.
    if (current?.outgoing?.at === notice.at) await tx.store.put({ ...current, outgoing: null }, warnStateKey(rec.peerId));
    await tx.done;
  }

  async #sendReport(rec: DamageReportRecord): Promise<void> {
    const owner = this.partnerships.partners.find((p) => p.peerId === rec.owner);
    const link = owner ? this.net.peers.linkTo(owner.partnerKey) : undefined;
    if (!link) return;
    const shards = rec.shards.slice(0, 1024);
    const res = await link.request({ type: 'holder.damage', shards, at: this.now() }, { timeoutMs: HEALTH_TIMEOUT_MS });
    parseHealthReply('holder.damage-noted', res.message);
    const tx = this.db.transaction('kv', 'readwrite', { durability: 'strict' });
    const current = (await tx.store.get(scrubReportKey(rec.owner))) as DamageReportRecord | undefined;
    if (current) {
      const sent = new Set(shards);
      const left = current.shards.filter((s) => !sent.has(s));
      if (left.length === 0) await tx.store.delete(scrubReportKey(rec.owner));
      else await tx.store.put({ ...current, shards: left }, scrubReportKey(rec.owner));
    }
    await tx.done;
  }

  async #receiveNotice(owner: string, name: string, notice: HealthNotice, sig: string): Promise<void> {
    const tx = this.db.transaction('kv', 'readwrite');
    const prev = (await tx.store.get(inKey(owner))) as ReceivedNotice | undefined;
    // Only the newest notice counts: an older one arriving late changes nothing.
    const stale = prev !== undefined && prev.at >= notice.at;
    if (!stale) {
      if (notice.level === 'ok') await tx.store.delete(inKey(owner));
      else await tx.store.put({ ...notice, owner, name, sig, receivedAt: this.now() } satisfies ReceivedNotice, inKey(owner));
    }
    await tx.done;
    await this.refresh();
    if (stale || notice.level === 'ok') return;
    if (prev?.level === notice.level && prev.since === notice.since) return;
    const { title, body } = receivedNoticeText({ ...notice, owner, name, sig, receivedAt: this.now() });
    await this.#notify(title, body, `backpact-held-${owner}`);
  }

  async #receiveDamage(holder: string, shards: string[]): Promise<void> {
    const tx = this.db.transaction('kv', 'readwrite', { durability: 'strict' });
    const prev = (await tx.store.get(damagedKey(holder))) as DamagedRecord | undefined;
    // Bounded: a holder cannot grow this record without end (repair clears what it rebuilt).
    const next: DamagedRecord = { shards: mergeShardIds(prev?.shards ?? [], shards).slice(0, MAX_DAMAGED_IDS), reportedAt: this.now() };
    await tx.store.put(next, damagedKey(holder));
    const log = ((await tx.store.get(logKey(holder))) as DamageLogEntry[] | undefined) ?? [];
    await tx.store.put([...log, { at: this.now(), count: shards.length }].slice(-DAMAGE_LOG), logKey(holder));
    await tx.done;
    await this.refresh();
  }

  async #notify(title: string, body: string, tag: string): Promise<void> {
    if (typeof Notification === 'undefined' || Notification.permission !== 'granted' || !('serviceWorker' in navigator)) return;
    try {
      const reg = await navigator.serviceWorker.ready;
      await reg.showNotification(title, { body, tag, icon: '/icons/icon-192.png' });
    } catch {
      // Shown in the app all the same.
    }
  }

  #partnerName(key: Uint8Array): string | null {
    const text = publicKeyText(key);
    for (const a of this.partnerships.agreements()) {
      const other = otherParty(a.terms, this.partnerships.myKeyText);
      if (other.publicKey === text) return other.name;
    }
    return null;
  }
}

/** Plain words of a notice received from an owner, for the app and the notification. */
export function receivedNoticeText(n: ReceivedNotice): { title: string; body: string } {
  const until = n.dropAt !== null ? new Date(n.dropAt).toLocaleDateString() : '';
  switch (n.level) {
    case 'failing':
      return {
        title: `${n.name}’s checks are failing`,
        body: `${n.name}’s checks of the data you keep for them are failing on this device. If this goes on (around ${until}), ${n.name}’s app will stop using this device and move the data elsewhere. Keep Backpact open so it can check and repair its copy.`,
      };
    case 'unreachable':
      return {
        title: `${n.name} could not reach you`,
        body: `${n.name} could not reach this device to check the data you keep for them since ${new Date(n.since ?? n.at).toLocaleDateString()}. Open Backpact more often: if this goes on until ${until}, ${n.name}’s app will stop using this device.`,
      };
    default:
      return {
        title: `${n.name} stopped using this device`,
        body: `${n.name}’s app no longer keeps a backup on this device: it did not pass its checks or was away too long.`,
      };
  }
}
