/**
 * Observed presence of partners (docs/DESIGN.md §7.2): while this page is connected to the
 * signaling server, time is split into spans at every link change (and at least once a minute),
 * and each span is added to every partner's record as "linked" or "not linked". Records live in
 * `kv['presence/<PeerId>']` (`core/policy/presence.ts`: a week of hourly buckets), and the backup's
 * stripe plan reads the estimate from here. Time when this page is closed or offline is not
 * observed at all, so a partner is not blamed for our own absence.
 */
import type { IDBPDatabase } from 'idb';
import { AVAILABILITY } from '../core/agreement/terms.ts';
import type { PeerId } from '../core/ids.ts';
import { addSpan, emptyPresence, estimateAvailability, parsePresence, presenceTotals, type PresenceRecord } from '../core/policy/presence.ts';
import type { BackpactDB } from '../store/db.ts';
import type { BackupPartners } from './backup-partners.ts';

/** Longest span between two samples, ms. */
export const PRESENCE_TICK_MS = 60_000;

const PREFIX = 'presence/';

/** One partner's record and estimate, for the UI and tests. */
export interface PresenceView {
  peerId: PeerId;
  /** Estimated chance it is online at a moment we are. */
  availability: number;
  /** Seconds observed in the window, and how many of them it was linked. */
  observedSeconds: number;
  onlineSeconds: number;
}

/** Records partners' presence and estimates their availability. */
export class PresenceService {
  /** Every partner's estimate, refreshed at each sample (for the Partners screen). */
  views = $state<PresenceView[]>([]);
  readonly #records = new Map<PeerId, PresenceRecord>();
  /** The span being observed now: since when, and who was linked at its start. */
  #span: { start: number; observing: boolean; linked: Set<PeerId> } | null = null;
  #queue: Promise<void> = Promise.resolve();
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #offs: (() => void)[] = [];

  constructor(
    private readonly db: IDBPDatabase<BackpactDB>,
    private readonly partners: BackupPartners,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Reads the stored records (a malformed one is dropped and starts again). */
  async load(): Promise<void> {
    const range = IDBKeyRange.bound(PREFIX, `${PREFIX}\uffff`);
    const [keys, values] = await Promise.all([this.db.getAllKeys('kv', range), this.db.getAll('kv', range)]);
    keys.forEach((k, i) => {
      try {
        this.#records.set(String(k).slice(PREFIX.length) as PeerId, parsePresence(values[i]));
      } catch {
        // Starts from nothing; the next sample overwrites it.
      }
    });
  }

  /** Starts observing: link changes, signaling state changes, and a tick. */
  start(): void {
    const net = this.partners.network;
    const sample = (): void => void this.sample();
    this.#offs.push(net.peers.on('link', sample), net.peers.on('link-closed', sample), net.signaling.on('state', sample));
    this.#timer = setInterval(sample, PRESENCE_TICK_MS);
    addEventListener('pagehide', sample);
    this.#offs.push(() => removeEventListener('pagehide', sample));
    sample();
  }

  /** Stops observing (the current span is recorded first). */
  async stop(): Promise<void> {
    for (const off of this.#offs.splice(0)) off();
    clearInterval(this.#timer);
    await this.sample();
    this.#span = null;
  }

  /** Closes the current span into the records and opens the next; resolves once stored. */
  sample(): Promise<void> {
    this.#queue = this.#queue.then(() => this.#sample()).catch(() => undefined);
    return this.#queue;
  }

  async #sample(): Promise<void> {
    const now = this.now();
    const net = this.partners.network;
    const observing = net.state === 'ready';
    const all = this.partners.all();
    const span = this.#span;
    if (span?.observing && now > span.start) {
      const tx = this.db.transaction('kv', 'readwrite', { durability: 'relaxed' });
      for (const p of all) {
        const next = addSpan(this.#records.get(p.peerId) ?? emptyPresence(), span.start, now, span.linked.has(p.peerId));
        this.#records.set(p.peerId, next);
        await tx.store.put(next, `${PREFIX}${p.peerId}`);
      }
      await tx.done;
    }
    const linked = new Set(all.filter((p) => observing && net.peers.linkTo(p.signalingId)).map((p) => p.peerId));
    this.#span = { start: now, observing, linked };
    this.views = this.#views(now);
  }

  /** The estimated availability of `peerId`, or null before anything was observed. */
  availability(peerId: PeerId): number | null {
    const rec = this.#records.get(peerId);
    const partner = this.partners.get(peerId);
    if (!rec || !partner) return null;
    return estimateAvailability(rec, this.now(), AVAILABILITY[partner.availability].fraction);
  }

  #views(now: number): PresenceView[] {
    return this.partners.all().flatMap((p) => {
      const rec = this.#records.get(p.peerId);
      if (!rec) return [];
      const t = presenceTotals(rec, now);
      return [{ peerId: p.peerId, availability: estimateAvailability(rec, now, AVAILABILITY[p.availability].fraction), observedSeconds: t.observed, onlineSeconds: t.online }];
    });
  }
}
