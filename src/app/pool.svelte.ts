/**
 * The open pool (opt-in): list this device with the space it offers strangers, and find partners
 * among the other listed peers by stated criteria (docs/DESIGN.md §6 "Open pool").
 *
 * Asker ("Find partners"): query the pool → filter by the criteria that need no measurement →
 * introduce itself to each remaining candidate (`poolHello`, a signed introduction) and add it
 * as a *pinned* partner (both keys are known, so no secret is needed) → the listed peer's app, if
 * still opted in, adds the asker the same way → the link forms → measure the round-trip time with
 * `partner.hello` → `selectPoolPartners` → `agreement.offer` with `probation: true` and the
 * quantized quota to each chosen candidate → both sign and store as for invites. The others get
 * `pool.bye` and both sides drop the temporary partner (the listed side also after a timeout).
 *
 * Listed peer: accepts an offer without asking its person when it is still opted in, the offer
 * came from a stranger that introduced itself, the terms are a fresh probation agreement with the
 * default probation intervals naming it as listed, and the (symmetric, quantized) quota fits both
 * the room left in the space it offers and the device's free storage.
 */
import type { IDBPDatabase } from 'idb';
import {
  DEFAULT_GRACE_S, PROBATION_AUDIT_INTERVAL_S, QUOTA_STEPS_GB, isQuantizedQuota, otherParty, partyByKey, proposeTerms, publicKeyText,
  type AgreementTerms, type Availability, type SignedAgreement,
} from '../core/agreement/index.ts';
import { fromBase32 } from '../core/encoding/bytes.ts';
import type { PartnerRequest } from '../core/partner/messages.ts';
import { DEFAULT_POOL_CRITERIA, selectPoolPartners, type PoolCandidate, type PoolCriteria } from '../core/pool/select.ts';
import { publicKeyOf, signalingIdOf } from '../p2p/identity.ts';
import type { IncomingRequest, OutgoingResponse } from '../p2p/link.ts';
import { openRelay, ReplayGuard, sealRelay } from '../p2p/relay.ts';
import type { PeerAddress, PoolPeer, SignalingId } from '../protocol/signaling.ts';
import type { BackpactDB } from '../store/db.ts';
import type { Requester } from './holder.ts';
import type { LocalIdentity } from './identity.ts';
import type { AppNetwork, RequestRoute } from './network.ts';
import type { PartnershipService } from './partnerships.svelte.ts';

/** Domain-separation label of open-pool introductions (the relay envelope, another label). */
export const POOL_INTRO_LABEL = 'backpact/v1/pool-intro';
/** How long the asker waits for a candidate's link before counting it unreachable. */
export const POOL_LINK_TIMEOUT_MS = 20_000;
/** How long a listed peer keeps a stranger that introduced itself but made no agreement. */
export const POOL_GUEST_TTL_MS = 2 * 60_000;
/** Round trips measured per candidate; the smallest counts (the first may include warm-up). */
export const POOL_RTT_SAMPLES = 3;
/** At most this many strangers linked at once on a listed peer (each costs a connection). */
export const MAX_POOL_GUESTS = 16;
/** An offer accepted but not yet final holds its quota this long. */
export const POOL_RESERVATION_TTL_MS = 2 * 60_000;
/** Most candidates contacted in one search (the server's answer holds up to 100). */
export const MAX_POOL_CONTACTS = 24;
/** An offer created longer ago than this (either way) is stale. */
const OFFER_SKEW_MS = 10 * 60_000;

const GB = 1e9;
const SETTINGS_KEY = 'pool-settings';
const TOKENS_KEY = 'pool-network-tokens';

/** What the person chose. */
export interface PoolSettings {
  optedIn: boolean;
  /** Space offered to strangers in all (a quota step). */
  capacityBytes: number;
  /** Space to give and get with each new partner (a quota step). */
  quotaBytes: number;
  /** New partners wanted per search. */
  count: number;
}

/** Defaults: 20 GB offered, 5 GB with each of up to 3 new partners. */
export const DEFAULT_POOL_SETTINGS: PoolSettings = { optedIn: false, capacityBytes: 20 * GB, quotaBytes: 5 * GB, count: 3 };

/** One candidate of a search, with the verdict and what came of it. */
export interface PoolCandidateView extends PoolCandidate {
  id: SignalingId;
  /** True when it passed the criteria that need no measurement and was introduced to. */
  contacted: boolean;
  chosen: boolean;
  /** Plain-word reasons for the verdict. */
  reasons: string[];
  /** For chosen candidates: the negotiation. */
  outcome: 'negotiating' | 'agreed' | 'declined' | 'failed' | null;
  outcomeMessage?: string;
}

/** One run of "Find partners". */
export interface PoolSearchView {
  status: 'querying' | 'contacting' | 'negotiating' | 'done' | 'failed';
  message?: string;
  startedAt: number;
  criteria: PoolCriteria;
  candidates: PoolCandidateView[];
}

/** The criteria in plain words, with their thresholds, as the app shows them. */
export function criteriaText(settings: Pick<PoolSettings, 'quotaBytes' | 'count'>): string[] {
  const quota = `${Math.round(settings.quotaBytes / GB)} GB`;
  return [
    `Offers at least ${quota} — the space you give each new partner in return.`,
    `Was online at least ${Math.round(DEFAULT_POOL_CRITERIA.minUptime * 100)}% of the last week, as the Backpact server saw it.`,
    'Is on a different network from each of your partners and from the others chosen, so one outage cannot take several copies.',
    `Answers within ${DEFAULT_POOL_CRITERIA.maxRttMs} ms when this device measures it.`,
    'Keeps at least as much for others as others keep for it.',
    `The best-placed (most often online, then fastest) are chosen, up to ${settings.count} at a time.`,
    `New partners start on probation: checked every ${PROBATION_AUDIT_INTERVAL_S / 3600} hours, and each holds at most one piece of any part of your backup.`,
  ];
}

function validSettings(x: unknown): PoolSettings {
  const s = (typeof x === 'object' && x !== null ? x : {}) as Partial<PoolSettings>;
  const step = (v: unknown, d: number): number => (typeof v === 'number' && isQuantizedQuota(v) ? v : d);
  return {
    optedIn: s.optedIn === true,
    capacityBytes: step(s.capacityBytes, DEFAULT_POOL_SETTINGS.capacityBytes),
    quotaBytes: step(s.quotaBytes, DEFAULT_POOL_SETTINGS.quotaBytes),
    count: typeof s.count === 'number' && Number.isInteger(s.count) && s.count >= 1 && s.count <= 10 ? s.count : DEFAULT_POOL_SETTINGS.count,
  };
}

/** What a partner promises to be online, from what the server observed. */
function availabilityFromUptime(uptime: number): Availability {
  return uptime >= 0.9 ? 'always-on' : uptime >= 0.5 ? 'most-of-day' : 'few-hours';
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The open pool for the local identity. */
export class PoolService implements RequestRoute {
  settings = $state<PoolSettings>({ ...DEFAULT_POOL_SETTINGS });
  search = $state<PoolSearchView | null>(null);
  /** Bytes listed as offered right now (the room left); null while not listed. */
  listedBytes = $state<number | null>(null);
  /** Why the last listing failed, for the person. */
  error = $state('');

  /** Strangers that introduced themselves: id → timer that drops them. */
  readonly #guests = new Map<SignalingId, ReturnType<typeof setTimeout>>();
  /** Quota held for offers accepted (or made) but not yet stored: agreement id → bytes. */
  readonly #reserved = new Map<string, { bytes: number; timer: ReturnType<typeof setTimeout> }>();
  /** Last known network tokens of partners (they are only reported while online). */
  #tokens: Record<string, string[]> = {};
  readonly #replay = new ReplayGuard();
  #searching = false;

  constructor(
    private readonly me: LocalIdentity,
    private readonly net: AppNetwork,
    private readonly db: IDBPDatabase<BackpactDB>,
    private readonly partnerships: PartnershipService,
    private readonly now: () => number = () => Date.now(),
  ) {
    partnerships.poolGate = { review: (from, terms) => this.#review(from, terms) };
    partnerships.onAgreementStored((signed) => this.#onStored(signed));
    net.signaling.on('poolHello', ({ from, data }) => void this.#onHello(from, data));
  }

  /** Loads the settings and lists this device again if the person opted in before. */
  async start(): Promise<void> {
    this.settings = validSettings(await this.db.get('kv', SETTINGS_KEY));
    const tokens = await this.db.get('kv', TOKENS_KEY);
    if (typeof tokens === 'object' && tokens !== null) this.#tokens = tokens as Record<string, string[]>;
    if (this.settings.optedIn) await this.#relist();
  }

  /** Changes the settings (and the listing when opted in). */
  async update(patch: Partial<PoolSettings>): Promise<void> {
    this.settings = validSettings({ ...this.settings, ...patch });
    await this.db.put('kv', { ...this.settings }, SETTINGS_KEY);
    this.error = '';
    try {
      if (this.settings.optedIn) await this.#relist();
      else await this.#unlist();
    } catch (err) {
      this.error = err instanceof Error ? err.message : String(err);
    }
  }

  /** Space offered to strangers that no agreement or pending offer takes yet. */
  freeRoom(): number {
    return Math.max(0, this.settings.capacityBytes - this.#committed());
  }

  /** Bytes promised to open-pool partners (running or in notice) plus pending offers. */
  #committed(): number {
    const now = this.now();
    let bytes = 0;
    for (const a of this.partnerships.agreements()) {
      if (a.terms.probation && (a.terms.endsAt === null || a.terms.endsAt > now)) bytes += a.terms.a.holdsBytes;
    }
    for (const r of this.#reserved.values()) bytes += r.bytes;
    return bytes;
  }

  /**
   * Self-reported reciprocity balance: bytes this device holds for others minus bytes others hold
   * for it. Until backups place shards, only the first part is known here.
   */
  balanceBytes(): number {
    return this.partnerships.partners.reduce((sum, p) => sum + p.heldForThem, 0);
  }

  async #relist(): Promise<void> {
    const offeredBytes = this.freeRoom();
    await this.net.signaling.poolList({ offeredBytes, balanceBytes: this.balanceBytes(), name: this.me.name });
    this.listedBytes = offeredBytes;
  }

  async #unlist(): Promise<void> {
    this.listedBytes = null;
    for (const id of [...this.#guests.keys()]) void this.#dropGuest(id);
    await this.net.signaling.poolUnlist();
  }

  #reserve(agreementId: string, bytes: number): void {
    this.#release(agreementId);
    const timer = setTimeout(() => this.#release(agreementId), POOL_RESERVATION_TTL_MS);
    this.#reserved.set(agreementId, { bytes, timer });
  }

  #release(agreementId: string): void {
    const r = this.#reserved.get(agreementId);
    if (!r) return;
    clearTimeout(r.timer);
    this.#reserved.delete(agreementId);
  }

  #onStored(signed: SignedAgreement): void {
    this.#release(signed.terms.id);
    const other = signalingIdOfKeyText(otherParty(signed.terms, publicKeyText(this.me.publicKey)).publicKey);
    const guest = this.#guests.get(other);
    if (guest !== undefined) {
      clearTimeout(guest);
      this.#guests.delete(other);
    }
    if (this.settings.optedIn) void this.#relist().catch(() => undefined);
  }

  // ---------------------------------------------------------------------------------------------
  // Listed side
  // ---------------------------------------------------------------------------------------------

  async #onHello(from: PeerAddress, data: Uint8Array): Promise<void> {
    if (!this.settings.optedIn || this.partnerships.hasAgreementWith(from.id)) return;
    try {
      const body = await openRelay(data, { from: publicKeyOf(from.id), me: this.me.publicKey, replay: this.#replay, label: POOL_INTRO_LABEL });
      const intro = JSON.parse(dec.decode(body)) as { v?: unknown };
      if (intro.v !== 1) return;
    } catch {
      return; // not a valid introduction from that sender: ignored
    }
    const existing = this.#guests.get(from.id);
    if (existing === undefined && this.#guests.size >= MAX_POOL_GUESTS) return;
    clearTimeout(existing);
    this.#guests.set(from.id, setTimeout(() => void this.#dropGuest(from.id), POOL_GUEST_TTL_MS));
    // Pinned: the link is bound only if the other side holds the key that signed the introduction.
    await this.net.peers.addPartner(from.id);
  }

  async #dropGuest(id: SignalingId): Promise<void> {
    clearTimeout(this.#guests.get(id));
    this.#guests.delete(id);
    if (!this.partnerships.hasAgreementWith(id)) await this.net.peers.removePartner(id).catch(() => undefined);
  }

  /** The pool's rules for a first offer from a stranger; null accepts it. */
  async #review(from: SignalingId, terms: AgreementTerms): Promise<string | null> {
    if (!this.settings.optedIn) return 'I am no longer in the open pool.';
    if (!this.#guests.has(from)) return 'New partnerships start from an invite or an open-pool introduction.';
    if (!terms.probation) return 'Partners from the open pool start on probation.';
    if (terms.revision !== 1 || terms.endsAt !== null) return 'That is not a new agreement.';
    if (terms.auditIntervalS !== PROBATION_AUDIT_INTERVAL_S || terms.graceS !== DEFAULT_GRACE_S) return 'Open-pool agreements use the probation audit interval and the default grace period.';
    if (Math.abs(terms.createdAt - this.now()) > OFFER_SKEW_MS) return 'That offer is out of date.';
    if (partyByKey(terms, publicKeyText(this.me.publicKey)).name !== this.me.name) return 'The offer does not name me as I am listed.';
    const quota = terms.a.holdsBytes; // symmetric and quantized: parseTerms checked
    const room = this.freeRoom();
    if (quota > room) return `Only ${Math.round(room / GB)} GB of the space I offer is left.`;
    if (!(await this.#deviceHasRoom(quota))) return 'This device is short of storage.';
    this.#reserve(terms.id, quota);
    return null;
  }

  /** True when the browser lets us store `bytes` more on top of what partners may still send. */
  async #deviceHasRoom(bytes: number): Promise<boolean> {
    if (typeof navigator === 'undefined' || !navigator.storage?.estimate) return true;
    const { quota, usage } = await navigator.storage.estimate();
    if (quota === undefined || usage === undefined) return true;
    const promised = this.partnerships.partners.reduce((sum, p) => sum + (p.endsAt === null ? Math.max(0, p.quotaBytes - p.heldForThem) : 0), 0);
    return quota - usage - promised >= bytes;
  }

  serves(type: PartnerRequest['type']): boolean {
    return type === 'pool.bye';
  }

  async handle(from: Requester & { address: PeerAddress }, _req: PartnerRequest, _incoming: IncomingRequest): Promise<OutgoingResponse> {
    // Answer first, then drop: closing the link before the answer leaves would fail the request.
    if (this.#guests.has(from.address.id)) setTimeout(() => void this.#dropGuest(from.address.id), 0);
    return { message: { type: 'pool.bye' } };
  }

  // ---------------------------------------------------------------------------------------------
  // Asker side
  // ---------------------------------------------------------------------------------------------

  /** Finds and agrees with new partners by the stated criteria; progress is in {@link search}. */
  async findPartners(): Promise<void> {
    if (this.#searching) return;
    this.#searching = true;
    const { quotaBytes } = this.settings;
    const count = Math.min(this.settings.count, Math.floor(this.freeRoom() / quotaBytes));
    const partnerIds = new Set(this.partnerships.agreements()
      .filter((a) => a.terms.endsAt === null || a.terms.endsAt > this.now())
      .map((a) => signalingIdOfKeyText(otherParty(a.terms, publicKeyText(this.me.publicKey)).publicKey)));
    const criteria: PoolCriteria = {
      wantedBytes: quotaBytes,
      minUptime: DEFAULT_POOL_CRITERIA.minUptime,
      maxRttMs: DEFAULT_POOL_CRITERIA.maxRttMs,
      minBalanceBytes: DEFAULT_POOL_CRITERIA.minBalanceBytes,
      existingNetworkTokens: [],
      existingPartners: [...partnerIds],
      count,
    };
    this.search = { status: 'querying', startedAt: this.now(), criteria, candidates: [] };
    const fail = (message: string): void => {
      if (this.search) this.search = { ...this.search, status: 'failed', message };
    };
    try {
      if (!this.settings.optedIn) return fail('List yourself in the open pool first: only those who offer space may look for it.');
      if (count < 1) return fail(`The space you offer to strangers has less than ${Math.round(quotaBytes / GB)} GB left: offer more, or a smaller amount per partner.`);
      await this.#relist();
      const { peers, partners } = await this.net.signaling.poolQuery();
      await this.#learnTokens(partnerIds, partners);
      criteria.existingNetworkTokens = [...new Set([...partnerIds].flatMap((id) => this.#tokens[id] ?? []))];
      await this.#runSearch(peers, criteria);
    } catch (err) {
      fail(err instanceof Error ? err.message : String(err));
    } finally {
      this.#searching = false;
      if (this.settings.optedIn) void this.#relist().catch(() => undefined);
    }
  }

  async #learnTokens(partnerIds: Set<SignalingId>, reported: { id: SignalingId; networkToken: string }[]): Promise<void> {
    const fresh: Record<string, string[]> = {};
    for (const p of reported) if (partnerIds.has(p.id)) (fresh[p.id] ??= []).push(p.networkToken);
    this.#tokens = Object.fromEntries(Object.entries({ ...this.#tokens, ...fresh }).filter(([id]) => partnerIds.has(id as SignalingId)));
    await this.db.put('kv', this.#tokens, TOKENS_KEY);
  }

  async #runSearch(peers: PoolPeer[], criteria: PoolCriteria): Promise<void> {
    const base: PoolCandidate[] = peers.map((p) => ({
      id: p.id, name: p.name, offeredBytes: p.offeredBytes, uptime7d: p.uptime7d, networkToken: p.networkToken, rttMs: null, balanceBytes: p.balanceBytes,
    }));
    // Pass 1, without measurements: who fails a criterion that needs none is not contacted.
    const unmeasured = selectPoolPartners(base.map((c) => ({ ...c, rttMs: 0 })), { ...criteria, count: Number.MAX_SAFE_INTEGER });
    const toContact = unmeasured.filter((v) => v.score !== null).sort((x, y) => y.score! - x.score!).slice(0, MAX_POOL_CONTACTS).map((v) => v.candidate.id as SignalingId);
    const contacted = new Set(toContact);
    const view = (c: PoolCandidate, patch: Partial<PoolCandidateView>): PoolCandidateView => ({
      ...c, id: c.id as SignalingId, contacted: contacted.has(c.id as SignalingId), chosen: false, reasons: [], outcome: null, ...patch,
    });
    const passedOver = new Map(unmeasured.filter((v) => !contacted.has(v.candidate.id as SignalingId)).map((v) => [v.candidate.id, v.reasons]));
    const setCandidates = (list: PoolCandidateView[], patch: Partial<PoolSearchView> = {}): void => {
      this.search = { ...this.search!, ...patch, candidates: list };
    };
    setCandidates(base.map((c) => view(c, { reasons: passedOver.get(c.id) ?? ['being contacted…'] })), { status: 'contacting', criteria: { ...criteria } });

    // Contact: introduce, link, measure.
    const rtts = new Map<string, number | null>(await Promise.all(toContact.map(async (id) => [id, await this.#contact(id)] as const)));
    const measured = base.filter((c) => contacted.has(c.id as SignalingId)).map((c) => ({ ...c, rttMs: rtts.get(c.id) ?? null }));
    // Pass 2, with the measured round trips, among those contacted.
    const verdicts = new Map(selectPoolPartners(measured, criteria).map((v) => [v.candidate.id, v]));
    let candidates = base.map((c) => {
      const v = verdicts.get(c.id);
      return v ? view(v.candidate, { chosen: v.chosen, reasons: v.reasons, outcome: v.chosen ? 'negotiating' : null }) : view(c, { reasons: passedOver.get(c.id) ?? [] });
    });
    setCandidates(candidates, { status: 'negotiating' });

    // Negotiate with the chosen; say goodbye to the others.
    const update = (id: string, patch: Partial<PoolCandidateView>): void => {
      candidates = candidates.map((c) => (c.id === id ? { ...c, ...patch } : c));
      setCandidates(candidates);
    };
    await Promise.all(candidates.filter((c) => c.contacted).map(async (c) => {
      if (!c.chosen) return this.#farewell(c.id);
      try {
        const result = await this.#propose(c, criteria.wantedBytes);
        if (result.agreed) update(c.id, { outcome: 'agreed' });
        else {
          update(c.id, { outcome: 'declined', outcomeMessage: result.reason });
          await this.#farewell(c.id);
        }
      } catch (err) {
        update(c.id, { outcome: 'failed', outcomeMessage: err instanceof Error ? err.message : String(err) });
        await this.#farewell(c.id);
      }
    }));
    const agreed = candidates.filter((c) => c.outcome === 'agreed').length;
    setCandidates(candidates, {
      status: 'done',
      message: agreed === 0 ? 'No new partners this time.' : `${agreed} new ${agreed === 1 ? 'partner' : 'partners'} on probation.`,
    });
  }

  /** Introduces us to a candidate and measures the round trip over the bound link; null when unreachable. */
  async #contact(id: SignalingId): Promise<number | null> {
    try {
      await this.net.peers.addPartner(id);
      const identity = { publicKey: this.me.publicKey, sign: (m: Uint8Array) => this.me.signRaw(m) };
      const intro = await sealRelay(identity, publicKeyOf(id), enc.encode(JSON.stringify({ v: 1, name: this.me.name })), { label: POOL_INTRO_LABEL });
      await this.net.signaling.poolHello(id, intro);
      const link = await this.net.peers.waitForLink(id, POOL_LINK_TIMEOUT_MS);
      let best = Infinity;
      for (let i = 0; i < POOL_RTT_SAMPLES; i++) {
        const t = performance.now();
        await link.request({ type: 'partner.hello', name: this.me.name }, { timeoutMs: 5_000 });
        best = Math.min(best, performance.now() - t);
      }
      return Math.round(best * 10) / 10;
    } catch {
      return null;
    }
  }

  async #propose(c: PoolCandidateView, quotaBytes: number): Promise<{ agreed: true } | { agreed: false; reason: string }> {
    const terms = proposeTerms({
      me: { publicKey: publicKeyText(this.me.publicKey), name: this.me.name, availability: 'few-hours' },
      other: { publicKey: publicKeyText(publicKeyOf(c.id)), name: c.name, availability: availabilityFromUptime(c.uptime7d) },
      quotaBytes,
      probation: true,
      now: this.now(),
      idBytes: crypto.getRandomValues(new Uint8Array(16)),
    });
    this.#reserve(terms.id, quotaBytes);
    try {
      const result = await this.partnerships.offerPoolTerms(c.id, terms);
      if (result.agreed) {
        this.#tokens[c.id] = [c.networkToken];
        await this.db.put('kv', { ...this.#tokens }, TOKENS_KEY);
      }
      return result;
    } finally {
      this.#release(terms.id);
    }
  }

  /** Tells a passed-over candidate so and drops the temporary partner on our side. */
  async #farewell(id: SignalingId): Promise<void> {
    if (this.partnerships.hasAgreementWith(id)) return;
    const link = this.net.peers.linkTo(id);
    if (link) await link.request({ type: 'pool.bye' }, { timeoutMs: 5_000 }).catch(() => undefined);
    await this.net.peers.removePartner(id).catch(() => undefined);
  }
}

/** The quota steps offered in the pool's selects (up to 100 GB). */
export const POOL_QUOTA_STEPS_GB = QUOTA_STEPS_GB.filter((g) => g <= 100);

/** The signaling id of a party's key as agreements spell it (base32). */
function signalingIdOfKeyText(keyText: string): SignalingId {
  return signalingIdOf(fromBase32(keyText));
}
