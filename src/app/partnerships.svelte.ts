/**
 * Partnerships: invite a friend by link, negotiate a reciprocal agreement over the bound link,
 * keep agreements on both sides, and reconnect to every partner whenever both are online.
 *
 * Invite flow (docs/DESIGN.md §6): the inviter opens a mailbox for the invite and shares a link
 * whose fragment holds the invite (key, id, secret) and its expiry. The guest replies through the
 * mailbox (its key, device and name, MAC'd with the secret); both then link in invite binding mode
 * (each proves the secret, the guest pins the inviter's key). The inviter offers terms; the guest
 * accepts, counters or declines; on acceptance both sign, both store, and the link switches to
 * pinned mode for good.
 */
import type { IDBPDatabase } from 'idb';
import {
  checkTermsSignature, counterTerms, endTerms, amendTerms, otherParty, parseSignedAgreement, parseTerms, proposeTerms,
  publicKeyText, signTerms, supersedes, canonicalJson, type AgreementTerms, type Availability, type SignedAgreement,
  type TermsChange, type CanonicalValue,
} from '../core/agreement/index.ts';
import { fromBase32 } from '../core/encoding/bytes.ts';
import { MalformedError } from '../core/errors.ts';
import type { HolderStore } from '../core/holder/holder-store.ts';
import { peerIdFromPublicKey, safetyCode } from '../core/keys/index.ts';
import { parseOfferReply, REFUSAL, type PartnerRequest } from '../core/partner/messages.ts';
import { RequestRefusedError, SignalingError } from '../p2p/errors.ts';
import { publicKeyOf, signalingIdOf } from '../p2p/identity.ts';
import { createInvite, decodeInvite, encodeInvite, inviteMailbox, openInviteReply, sealInviteReply, type Invite } from '../p2p/invite.ts';
import type { IncomingRequest, OutgoingResponse } from '../p2p/link.ts';
import type { PeerAddress, SignalingId } from '../protocol/signaling.ts';
import type { BackpactDB } from '../store/db.ts';
import type { LocalIdentity } from './identity.ts';
import type { AppNetwork, RequestRoute } from './network.ts';

/** How long an invite link stays valid (the server's mailbox lifetime). */
export const INVITE_TTL_S = 72 * 3600;
/** How long a guest waits for the inviter's app to answer before saying so. */
export const INVITE_CONNECT_TIMEOUT_MS = 30_000;
/** How long an offer waits for the other person to decide. */
export const OFFER_TIMEOUT_MS = 15 * 60_000;

/** One partner as the UI shows it. */
export interface PartnerView {
  agreementId: string;
  partnerKey: SignalingId;
  peerId: string;
  name: string;
  /** Pair safety code: both apps show the same digits. */
  safetyCode: string;
  quotaBytes: number;
  theirAvailability: Availability;
  myAvailability: Availability;
  auditIntervalS: number;
  graceS: number;
  probation: boolean;
  revision: number;
  endsAt: number | null;
  online: boolean;
  /** Bytes this device holds for them. */
  heldForThem: number;
}

/** The inviter's view of one invite. */
export interface InviteView {
  link: string;
  quotaBytes: number;
  availability: Availability;
  expiresAt: number;
  status: 'waiting' | 'connecting' | 'offered' | 'countered' | 'done' | 'declined' | 'failed';
  guestName?: string;
  guestSafetyCode?: string;
  /** The guest's counter-offer, when status is `countered`. */
  counter?: AgreementTerms;
  message?: string;
}

/** The guest's view of an invite being accepted. */
export interface JoinView {
  inviterSafetyCode: string;
  status: 'connecting' | 'offer' | 'waiting' | 'done' | 'declined' | 'failed';
  offer?: AgreementTerms;
  inviterName?: string;
  message?: string;
}

/** Parsed `#invite=` fragment: the invite and its expiry (unix ms). */
export interface InviteLink {
  invite: Invite;
  expiresAt: number;
}

/** Thrown when an invite cannot be used; the message is for people. */
export class InviteRefusedError extends Error {
  override name = 'InviteRefusedError';
}

/** `<origin>/#invite=v1.<invite>.<expiry seconds>`; the fragment never reaches a server. */
export function inviteLinkText(origin: string, invite: Invite, expiresAt: number): string {
  return `${origin}/#invite=v1.${encodeInvite(invite)}.${Math.floor(expiresAt / 1000)}`;
}

/** Parses the part after `#invite=`. Throws {@link InviteRefusedError} with a clear message. */
export function parseInviteFragment(text: string, now = Date.now()): InviteLink {
  const m = /^v1\.([A-Za-z0-9_-]+)\.(\d{1,12})$/.exec(text.trim());
  if (!m) throw new InviteRefusedError('This invite link is damaged or incomplete. Ask your friend to send it again.');
  let invite: Invite;
  try {
    invite = decodeInvite(m[1]!);
  } catch {
    throw new InviteRefusedError('This invite link is damaged: it does not name a valid person. Ask your friend to send it again.');
  }
  const expiresAt = Number(m[2]) * 1000;
  if (expiresAt <= now) {
    throw new InviteRefusedError(`This invite expired on ${new Date(expiresAt).toLocaleString()}. Ask your friend for a new one.`);
  }
  return { invite, expiresAt };
}

interface StoredAgreement {
  id: string;
  partnerKey: string;
  signed: SignedAgreement;
  updatedAt: number;
}

interface PendingOffer {
  terms: AgreementTerms;
  resolve(reply: OutgoingResponse): void;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function random(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

function sameTerms(a: AgreementTerms, b: AgreementTerms): boolean {
  return canonicalJson(a as unknown as CanonicalValue) === canonicalJson(b as unknown as CanonicalValue);
}

/**
 * Decides, without asking the person, on a first offer from a stranger met through the open pool
 * (`pool.svelte.ts`). Resolves null to accept (both then sign), or the reason to decline.
 */
export interface PoolOfferGate {
  review(from: SignalingId, terms: AgreementTerms): Promise<string | null>;
}

/** Partnerships of the local identity. */
export class PartnershipService implements RequestRoute {
  partners = $state<PartnerView[]>([]);
  invites = $state<InviteView[]>([]);
  join = $state<JoinView | null>(null);

  readonly #agreements = new Map<string, SignedAgreement>();
  readonly #online = new Set<string>();
  readonly #names = new Map<string, string>();
  #pendingOffer: PendingOffer | null = null;
  /** Terms we countered with, accepted without asking again when offered back. */
  #ourCounter: AgreementTerms | null = null;
  /** Invite-mode partners awaiting an agreement: key → invite secret. */
  readonly #invitePartners = new Map<string, Uint8Array>();
  /** Reviews first offers from open-pool strangers; without it they are declined. */
  poolGate: PoolOfferGate | null = null;
  readonly #storedListeners = new Set<(signed: SignedAgreement) => void>();

  constructor(
    private readonly me: LocalIdentity,
    private readonly net: AppNetwork,
    private readonly db: IDBPDatabase<BackpactDB>,
    private readonly holder: HolderStore,
    private readonly now: () => number = () => Date.now(),
  ) {
    net.peers.on('link', ({ peer, link }) => {
      this.#online.add(peer.id);
      void this.#refresh();
      // Heal a half-finished negotiation (a crash between the two stores): each side re-sends
      // its latest signed agreements with this partner; the other keeps them only if newer.
      for (const signed of this.#agreements.values()) {
        if (otherParty(signed.terms, this.myKeyText).publicKey !== publicKeyText(publicKeyOf(peer.id))) continue;
        void link.request({ type: 'agreement.final', signed: signed as never }).catch(() => undefined);
      }
    });
    net.peers.on('link-closed', ({ peer }) => {
      if (!net.peers.linkTo(peer.id)) this.#online.delete(peer.id);
      void this.#refresh();
    });
  }

  get myKeyText(): string {
    return publicKeyText(this.me.publicKey);
  }

  /** Loads stored agreements and links to every partner whose agreement still runs. */
  async start(): Promise<void> {
    for (const rec of (await this.db.getAll('agreements')) as StoredAgreement[]) {
      try {
        const signed = parseSignedAgreement(rec.signed);
        this.#agreements.set(signed.terms.id, signed);
      } catch {
        // A damaged record is ignored rather than trusted; the partner can re-send its copy.
      }
    }
    for (const signed of this.#agreements.values()) await this.#applyAgreement(signed);
    await this.#refresh();
  }

  /** Signed agreements in force or in their notice period. */
  agreements(): SignedAgreement[] {
    return [...this.#agreements.values()];
  }

  /** Public keys (raw) of partners with a running agreement. */
  partnerKeys(): Uint8Array[] {
    return this.agreements().filter((a) => a.terms.endsAt === null).map((a) => fromBase32(otherParty(a.terms, this.myKeyText).publicKey));
  }

  async #applyAgreement(signed: SignedAgreement): Promise<void> {
    const other = otherParty(signed.terms, this.myKeyText);
    const key = fromBase32(other.publicKey);
    const id = signalingIdOf(key);
    const ownerId = peerIdFromPublicKey(key);
    this.#names.set(id, other.name);
    const running = signed.terms.endsAt === null || signed.terms.endsAt > this.now();
    // The quota I hold for them: what I promised (symmetric terms). An ending agreement takes no
    // new writes; once its notice period is over, what was held for them is deleted.
    await this.holder.setAllowance(ownerId, signed.terms.endsAt === null ? otherParty(signed.terms, other.publicKey).holdsBytes : null);
    if (!running) await this.holder.dropOwner(ownerId);
    if (running) {
      this.#invitePartners.delete(id);
      await this.net.peers.addPartner(id);
    }
  }

  async #store(signed: SignedAgreement): Promise<void> {
    const current = this.#agreements.get(signed.terms.id);
    if (current && !supersedes(signed, current)) return;
    const other = otherParty(signed.terms, this.myKeyText);
    await this.db.put('agreements', { id: signed.terms.id, partnerKey: other.publicKey, signed, updatedAt: this.now() } satisfies StoredAgreement);
    this.#agreements.set(signed.terms.id, signed);
    await this.#applyAgreement(signed);
    await this.#refresh();
    for (const listener of this.#storedListeners) listener(signed);
  }

  /** Calls `listener` after every agreement (or revision) is stored; returns the unsubscriber. */
  onAgreementStored(listener: (signed: SignedAgreement) => void): () => void {
    this.#storedListeners.add(listener);
    return () => this.#storedListeners.delete(listener);
  }

  /** True while an agreement with `id` runs (not ended, or in its notice period). */
  hasAgreementWith(id: SignalingId): boolean {
    const key = publicKeyText(publicKeyOf(id));
    return this.agreements().some((a) => otherParty(a.terms, this.myKeyText).publicKey === key && (a.terms.endsAt === null || a.terms.endsAt > this.now()));
  }

  /**
   * Offers `terms` to a linked stranger from the open pool (no person is asked on either side;
   * see pool.svelte.ts) and, when accepted, signs and stores the agreement on both sides.
   */
  async offerPoolTerms(partnerId: SignalingId, terms: AgreementTerms): Promise<{ agreed: true } | { agreed: false; reason: string }> {
    const outcome = await this.#offer(partnerId, terms);
    if (outcome.kind === 'done') return { agreed: true };
    return { agreed: false, reason: outcome.kind === 'declined' ? outcome.reason : 'suggested other terms, which the open pool does not negotiate' };
  }

  async #refresh(): Promise<void> {
    const views: PartnerView[] = [];
    for (const a of this.#agreements.values()) {
      const other = otherParty(a.terms, this.myKeyText);
      const mine = otherParty(a.terms, other.publicKey);
      const key = fromBase32(other.publicKey);
      const id = signalingIdOf(key);
      const usage = await this.holder.usage(peerIdFromPublicKey(key));
      views.push({
        agreementId: a.terms.id,
        partnerKey: id,
        peerId: peerIdFromPublicKey(key),
        name: other.name,
        safetyCode: safetyCode(this.me.publicKey, key),
        quotaBytes: other.holdsBytes,
        theirAvailability: other.availability,
        myAvailability: mine.availability,
        auditIntervalS: a.terms.auditIntervalS,
        graceS: a.terms.graceS,
        probation: a.terms.probation,
        revision: a.terms.revision,
        endsAt: a.terms.endsAt,
        online: this.#online.has(id),
        heldForThem: usage.used,
      });
    }
    this.partners = views.sort((x, y) => x.name.localeCompare(y.name));
  }

  // ---------------------------------------------------------------------------------------------
  // Inviter side
  // ---------------------------------------------------------------------------------------------

  /** Makes an invite link offering `quotaBytes` each way; the link is valid for 72 h. */
  async createInvite(quotaBytes: number, availability: Availability): Promise<InviteView> {
    const invite = createInvite(this.me.publicKey);
    const box = inviteMailbox(invite.inviteId);
    const expiresAt = this.now() + INVITE_TTL_S * 1000;
    const view: InviteView = { link: inviteLinkText(location.origin, invite, expiresAt), quotaBytes, availability, expiresAt, status: 'waiting' };
    this.invites = [view, ...this.invites];
    const update = (patch: Partial<InviteView>): void => {
      this.invites = this.invites.map((v) => (v.link === view.link ? { ...v, ...patch } : v));
    };
    const off = this.net.signaling.on('mailbox', (m) => {
      if (m.box !== box) return;
      let reply;
      try {
        reply = openInviteReply(invite, m.data);
      } catch {
        // Not from someone with the real secret: keep the invite open for the real guest.
        void this.net.signaling.openMailbox(box, INVITE_TTL_S).catch(() => undefined);
        return;
      }
      off();
      let guestName = 'Your friend';
      try {
        const payload = JSON.parse(dec.decode(reply.payload)) as { name?: unknown };
        if (typeof payload.name === 'string' && payload.name.length > 0 && payload.name.length <= 64) guestName = payload.name;
      } catch {
        // A missing name is not fatal; the terms carry the name the guest signs.
      }
      update({ status: 'connecting', guestName, guestSafetyCode: safetyCode(this.me.publicKey, reply.guestKey) });
      void this.#offerToGuest(invite, reply.guestKey, guestName, view, update);
    });
    await this.net.signaling.openMailbox(box, INVITE_TTL_S);
    return view;
  }

  async #offerToGuest(invite: Invite, guestKey: Uint8Array, guestName: string, view: InviteView, update: (p: Partial<InviteView>) => void): Promise<void> {
    const guestId = signalingIdOf(guestKey);
    this.#invitePartners.set(guestId, invite.secret);
    try {
      await this.net.peers.addPartner(guestId, { inviteSecret: invite.secret });
      await this.net.peers.waitForLink(guestId, INVITE_CONNECT_TIMEOUT_MS * 2);
      let terms = proposeTerms({
        me: { publicKey: this.myKeyText, name: this.me.name, availability: view.availability },
        other: { publicKey: publicKeyText(guestKey), name: guestName, availability: 'few-hours' },
        quotaBytes: view.quotaBytes,
        now: this.now(),
        idBytes: random(16),
      });
      for (;;) {
        update({ status: 'offered' });
        const outcome = await this.#offer(guestId, terms);
        if (outcome.kind === 'done') return update({ status: 'done' });
        if (outcome.kind === 'declined') return update({ status: 'declined', message: outcome.reason || `${guestName} declined.` });
        // A counter-offer: ask the person here.
        update({ status: 'countered', counter: outcome.terms });
        const decision = await new Promise<boolean>((resolve) => (this.#counterDecision = resolve));
        if (!decision) return update({ status: 'declined', message: 'You declined the suggested terms.' });
        terms = outcome.terms;
      }
    } catch (err) {
      update({ status: 'failed', message: err instanceof Error ? err.message : String(err) });
    }
  }

  #counterDecision: ((accept: boolean) => void) | null = null;

  /** The inviter's answer to a counter-offer. */
  answerCounter(accept: boolean): void {
    this.#counterDecision?.(accept);
    this.#counterDecision = null;
  }

  /** Sends terms to a linked partner and completes the agreement if accepted. */
  async #offer(partnerId: SignalingId, terms: AgreementTerms): Promise<{ kind: 'done' } | { kind: 'declined'; reason: string } | { kind: 'counter'; terms: AgreementTerms }> {
    const link = await this.net.peers.waitForLink(partnerId, INVITE_CONNECT_TIMEOUT_MS);
    const res = await link.request({ type: 'agreement.offer', terms: terms as never }, { timeoutMs: OFFER_TIMEOUT_MS });
    const reply = parseOfferReply(res.message);
    if (reply.decision === 'decline') return { kind: 'declined', reason: reply.reason };
    const otherKey = otherParty(terms, this.myKeyText).publicKey;
    if (reply.decision === 'counter') {
      const countered = parseTerms(reply.terms);
      this.#checkCounter(terms, countered);
      return { kind: 'counter', terms: countered };
    }
    if (!checkTermsSignature(terms, otherKey, reply.sig)) throw new Error('The partner’s signature on the agreement is not valid; nothing was stored.');
    const mySig = await signTerms(terms, { publicKey: this.me.publicKey, sign: (m) => this.me.signRaw(m) });
    const signed = parseSignedAgreement(terms.a.publicKey === this.myKeyText ? { terms, sigA: mySig, sigB: reply.sig } : { terms, sigA: reply.sig, sigB: mySig });
    await this.#store(signed);
    await link.request({ type: 'agreement.final', signed: signed as never });
    return { kind: 'done' };
  }

  /** A counter may change only the quota, the counterer's own availability and the intervals. */
  #checkCounter(offered: AgreementTerms, countered: AgreementTerms): void {
    const mine = otherParty(offered, otherParty(offered, this.myKeyText).publicKey);
    const mineAfter = otherParty(countered, otherParty(countered, this.myKeyText).publicKey);
    if (countered.id !== offered.id || countered.revision !== offered.revision || countered.a.publicKey !== offered.a.publicKey
      || countered.b.publicKey !== offered.b.publicKey || mine.availability !== mineAfter.availability || mine.name !== mineAfter.name
      || countered.probation !== offered.probation || countered.endsAt !== offered.endsAt) {
      throw new MalformedError('agreement', 'the counter-offer changes terms it may not change');
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Guest side
  // ---------------------------------------------------------------------------------------------

  /**
   * Starts joining through an invite fragment (the text after `#invite=`). Resolves once the
   * reply is posted; progress and the offer appear in {@link join}. Throws
   * {@link InviteRefusedError} with a message for people.
   */
  async acceptInvite(fragment: string): Promise<void> {
    const { invite } = parseInviteFragment(fragment, this.now());
    if (publicKeyText(invite.inviterKey) === this.myKeyText) throw new InviteRefusedError('This is your own invite. Send it to a friend instead.');
    const inviterId = signalingIdOf(invite.inviterKey);
    this.join = { inviterSafetyCode: safetyCode(this.me.publicKey, invite.inviterKey), status: 'connecting' };
    this.#invitePartners.set(inviterId, invite.secret);
    await this.net.ready();
    await this.net.peers.addPartner(inviterId, { inviteSecret: invite.secret });
    try {
      await this.net.signaling.postMailbox(
        inviteMailbox(invite.inviteId),
        sealInviteReply(invite, this.me.publicKey, this.net.signaling.self.device, enc.encode(JSON.stringify({ name: this.me.name }))),
      );
    } catch (err) {
      await this.net.peers.removePartner(inviterId);
      this.#invitePartners.delete(inviterId);
      const message = err instanceof SignalingError && err.serverCode === 'mailbox-not-found'
        ? 'This invite was already used, cancelled or has expired. Ask your friend for a new one.'
        : 'Could not reach the Backpact server to use this invite. Try again in a moment.';
      this.join = { ...this.join!, status: 'failed', message };
      throw new InviteRefusedError(message);
    }
    const linked = await this.net.peers.waitForLink(inviterId, INVITE_CONNECT_TIMEOUT_MS).then(() => true, () => false);
    if (!linked && this.join?.status === 'connecting') {
      await this.net.peers.removePartner(inviterId);
      this.#invitePartners.delete(inviterId);
      this.join = {
        ...this.join,
        status: 'failed',
        message: 'This invite could not be confirmed: the link may have been changed or damaged, or your friend’s app is closed. Ask them for a new link.',
      };
    }
  }

  /** The guest's decision on the offer in {@link join}. */
  decideOffer(decision: { accept: true } | { decline: string } | { counter: TermsChange }): void {
    const pending = this.#pendingOffer;
    if (!pending) return;
    this.#pendingOffer = null;
    void (async () => {
      if ('accept' in decision) {
        const sig = await signTerms(pending.terms, { publicKey: this.me.publicKey, sign: (m) => this.me.signRaw(m) });
        this.join = this.join && { ...this.join, status: 'waiting' };
        pending.resolve({ message: { type: 'agreement.reply', decision: 'accept', sig } });
      } else if ('decline' in decision) {
        this.join = this.join && { ...this.join, status: 'declined', message: 'You declined.' };
        pending.resolve({ message: { type: 'agreement.reply', decision: 'decline', reason: decision.decline } });
      } else {
        const countered = counterTerms(pending.terms, decision.counter, this.now());
        this.#ourCounter = countered;
        this.join = this.join && { ...this.join, status: 'waiting' };
        pending.resolve({ message: { type: 'agreement.reply', decision: 'counter', terms: countered as never } });
      }
    })();
  }

  // ---------------------------------------------------------------------------------------------
  // Amend and end
  // ---------------------------------------------------------------------------------------------

  /** Proposes new terms for a running agreement; both sign the new revision. */
  async amend(agreementId: string, change: TermsChange): Promise<'done' | 'declined'> {
    const current = this.#require(agreementId);
    const next = amendTerms(current.terms, change, this.now());
    const partnerId = signalingIdOf(fromBase32(otherParty(next, this.myKeyText).publicKey));
    const outcome = await this.#offer(partnerId, next);
    return outcome.kind === 'done' ? 'done' : 'declined';
  }

  /**
   * Ends an agreement with notice: a new revision with `endsAt` = now + grace period, which the
   * partner always accepts. Each side keeps the other's shards until then.
   */
  async end(agreementId: string): Promise<void> {
    const current = this.#require(agreementId);
    const next = endTerms(current.terms, this.now());
    const partnerId = signalingIdOf(fromBase32(otherParty(next, this.myKeyText).publicKey));
    await this.#offer(partnerId, next);
  }

  #require(agreementId: string): SignedAgreement {
    const a = this.#agreements.get(agreementId);
    if (!a) throw new Error('There is no such partnership.');
    return a;
  }

  // ---------------------------------------------------------------------------------------------
  // Requests from partners
  // ---------------------------------------------------------------------------------------------

  serves(type: PartnerRequest['type']): boolean {
    return type === 'agreement.offer' || type === 'agreement.final' || type === 'partner.hello';
  }

  async handle(from: { address: PeerAddress; publicKey: Uint8Array }, req: PartnerRequest, incoming: IncomingRequest): Promise<OutgoingResponse> {
    const fromKey = publicKeyText(from.publicKey);
    switch (req.type) {
      case 'partner.hello':
        return { message: { type: 'partner.hello', name: this.me.name } };
      case 'agreement.offer': {
        const terms = parseTerms(req.terms);
        const mine = terms.a.publicKey === this.myKeyText || terms.b.publicKey === this.myKeyText;
        const theirs = terms.a.publicKey === fromKey || terms.b.publicKey === fromKey;
        if (!mine || !theirs) throw new RequestRefusedError(REFUSAL.badRequest, 'those terms are not between you and me');
        const sign = async (): Promise<OutgoingResponse> => ({
          message: { type: 'agreement.reply', decision: 'accept', sig: await signTerms(terms, { publicKey: this.me.publicKey, sign: (m) => this.me.signRaw(m) }) },
        });
        const current = this.#agreements.get(terms.id);
        if (current) {
          if (terms.revision !== current.terms.revision + 1) throw new RequestRefusedError(REFUSAL.stale, 'that is not the next revision');
          // Notice of ending cannot be refused; anything else is shown to the person.
          if (terms.endsAt !== null && sameTerms(endTerms(current.terms, terms.updatedAt), terms)) return sign();
        } else if (!this.#invitePartners.has(from.address.id)) {
          // A stranger from the open pool: the pool's rules decide, not the person.
          if (!this.poolGate) throw new RequestRefusedError(REFUSAL.declined, 'new partnerships start from an invite');
          const refusal = await this.poolGate.review(from.address.id, terms);
          if (refusal !== null) return { message: { type: 'agreement.reply', decision: 'decline', reason: refusal } };
          return sign();
        }
        if (this.#ourCounter && sameTerms(this.#ourCounter, terms)) {
          this.#ourCounter = null;
          return sign();
        }
        return new Promise<OutgoingResponse>((resolve) => {
          this.#pendingOffer?.resolve({ message: { type: 'agreement.reply', decision: 'decline', reason: 'superseded' } });
          this.#pendingOffer = { terms, resolve };
          const inviter = otherParty(terms, this.myKeyText);
          this.join = { inviterSafetyCode: safetyCode(this.me.publicKey, from.publicKey), ...(this.join ?? {}), status: 'offer', offer: terms, inviterName: inviter.name };
          incoming.signal.addEventListener('abort', () => {
            if (this.#pendingOffer?.terms === terms) {
              this.#pendingOffer = null;
              this.join = this.join && { ...this.join, status: 'failed', message: 'The offer was withdrawn or the connection was lost.' };
            }
          });
        });
      }
      case 'agreement.final': {
        const signed = parseSignedAgreement(req.signed);
        const parties = [signed.terms.a.publicKey, signed.terms.b.publicKey];
        if (!parties.includes(this.myKeyText) || !parties.includes(fromKey)) throw new RequestRefusedError(REFUSAL.badRequest, 'not our agreement');
        await this.#store(signed);
        if (this.join) this.join = { ...this.join, status: 'done' };
        return { message: { type: 'agreement.stored', id: signed.terms.id, revision: signed.terms.revision } };
      }
      default:
        throw new RequestRefusedError(REFUSAL.badRequest, 'not a partnership request');
    }
  }

  /** The key of a partner by its signaling id (for other services). */
  keyOf(id: SignalingId): Uint8Array {
    return publicKeyOf(id);
  }
}
