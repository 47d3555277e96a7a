/**
 * The peer network: one bound {@link PeerLink} per online instance of each partner, made and
 * re-made automatically. It listens to presence from the signaling client, connects when a
 * partner instance comes online, binds identities, and reconnects with back-off when a link
 * drops while both sides are still online.
 *
 * Roles are fixed per pair so two instances never offer at once: the one whose address
 * (`id/device`) sorts first makes the offer and retries; the other answers. A new offer from an
 * instance we think we are linked with means it lost the link: ours is replaced.
 */
import { toBase64Url } from '../protocol/encoding.ts';
import type { PeerAddress, SignalingId } from '../protocol/signaling.ts';
import { Backoff, type BackoffOptions } from './backoff.ts';
import { LINK_RETRY } from './constants.ts';
import { Emitter } from './emitter.ts';
import { publicKeyOf, type LinkIdentity } from './identity.ts';
import { PeerLink, type LinkClosed, type LinkTransport, type PeerExpectation, type RequestHandler } from './link.ts';
import { RtcAttempt, type RtcAttemptOptions } from './rtc.ts';
import { addressKey, type SignalingClient } from './signaling-client.ts';
import { decodePeerSignal, encodePeerSignal, type PeerSignal } from './signals.ts';

/** What the network needs of a connection attempt (an {@link RtcAttempt}; a double in tests). */
export interface ConnectionAttempt {
  readonly cid: string;
  readonly open: Promise<LinkTransport>;
  handleSignal(signal: PeerSignal): Promise<void>;
  close(): void;
}

/** Options of {@link PeerNetwork}. */
export interface PeerNetworkOptions {
  signaling: SignalingClient;
  /** The identity that signs link bindings (normally the one the signaling client uses). */
  identity: LinkIdentity;
  /** Serves requests from a partner on a new link. */
  handler?: (peer: PeerAddress) => RequestHandler;
  /** Default: the ICE servers from the signaling server's welcome. */
  iceServers?: RTCIceServer[];
  retry?: Partial<BackoffOptions>;
  connectTimeoutMs?: number;
  bindingTimeoutMs?: number;
  /** Makes connection attempts; default a raw `RTCPeerConnection` ({@link RtcAttempt}). */
  createAttempt?: (opts: RtcAttemptOptions) => ConnectionAttempt;
}

/** Events of {@link PeerNetwork}. */
export interface PeerNetworkEvents extends Record<string, unknown> {
  /** A link is bound and ready for requests. */
  link: { peer: PeerAddress; link: PeerLink };
  'link-closed': { peer: PeerAddress; closed: LinkClosed };
  /** An attempt failed (connect, or binding: e.g. the peer presented another identity). */
  'link-failed': { peer: PeerAddress; error: unknown };
}

interface Slot {
  peer: PeerAddress;
  online: boolean;
  initiator: boolean;
  attempt: ConnectionAttempt | null;
  link: PeerLink | null;
  /** The attempt whose connection carries `link`. */
  openedBy: ConnectionAttempt | null;
  backoff: Backoff;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
}

function randomCid(): string {
  return toBase64Url(globalThis.crypto.getRandomValues(new Uint8Array(12)));
}

/** Links to partners; see the module comment. */
export class PeerNetwork extends Emitter<PeerNetworkEvents> {
  private readonly opts: PeerNetworkOptions;
  private readonly partners = new Map<SignalingId, { key: Uint8Array; inviteSecret?: Uint8Array }>();
  private readonly slots = new Map<string, Slot>();
  private readonly offs: (() => void)[] = [];
  private closed = false;

  constructor(opts: PeerNetworkOptions) {
    super();
    this.opts = opts;
    const s = opts.signaling;
    this.offs.push(
      s.on('presence', ({ peer, online }) => this.onPresence(peer, online)),
      s.on('signal', ({ from, data }) => this.onSignal(from, data)),
    );
  }

  /**
   * Links to `id` whenever one of its instances is online (and mutually subscribed). With
   * `inviteSecret`, links are bound in invite mode (both sides must also prove the secret) until
   * `addPartner` is called again without it — both sides switch once their agreement is made.
   */
  async addPartner(id: SignalingId, opts: { inviteSecret?: Uint8Array } = {}): Promise<void> {
    this.partners.set(id, { key: publicKeyOf(id), ...(opts.inviteSecret ? { inviteSecret: opts.inviteSecret } : {}) });
    await this.opts.signaling.subscribe([id]);
    for (const peer of this.opts.signaling.onlinePeers()) if (peer.id === id) this.onPresence(peer, true);
  }

  /** Stops linking to `id` and closes its links. */
  async removePartner(id: SignalingId): Promise<void> {
    this.partners.delete(id);
    for (const slot of [...this.slots.values()]) if (slot.peer.id === id) this.dropSlot(slot, 'removed');
    await this.opts.signaling.unsubscribe([id]);
  }

  /** Bound links, one per online partner instance. */
  links(): { peer: PeerAddress; link: PeerLink }[] {
    return [...this.slots.values()].filter((s) => s.link?.isOpen).map((s) => ({ peer: s.peer, link: s.link! }));
  }

  /** A bound link to any instance of `id`. */
  linkTo(id: SignalingId): PeerLink | undefined {
    return this.links().find((l) => l.peer.id === id)?.link;
  }

  /** Resolves with a bound link to `id` as soon as there is one. */
  waitForLink(id: SignalingId, timeoutMs = 60_000): Promise<PeerLink> {
    const existing = this.linkTo(id);
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`no link to ${id} within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.on('link', ({ peer, link }) => {
        if (peer.id !== id) return;
        clearTimeout(timer);
        off();
        resolve(link);
      });
    });
  }

  /** Closes every link and stops reacting to the signaling client. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.offs) off();
    for (const slot of [...this.slots.values()]) this.dropSlot(slot, 'going-away');
  }

  /**
   * Test hook: the connection to `peer` vanishes as on a network failure (no close frame), so
   * both sides see a transport loss and reconnect.
   */
  simulateNetworkLoss(peer: PeerAddress): void {
    const slot = this.slots.get(addressKey(peer));
    if (slot?.link) slot.openedBy?.close();
  }

  // ---- presence and signals ----------------------------------------------------------------

  private onPresence(peer: PeerAddress, online: boolean): void {
    if (this.closed || !this.partners.has(peer.id)) return;
    const key = addressKey(peer);
    let slot = this.slots.get(key);
    if (!online) {
      if (!slot) return;
      slot.online = false;
      clearTimeout(slot.retryTimer);
      // A live link may outlast a signaling hiccup: keep it. Only pending attempts are dropped.
      if (!slot.link) this.dropSlot(slot, 'offline');
      return;
    }
    if (!slot) {
      const self = this.opts.signaling.self;
      slot = {
        peer,
        online: true,
        initiator: addressKey(self) < key,
        attempt: null,
        link: null,
        openedBy: null,
        backoff: new Backoff({ ...LINK_RETRY, ...this.opts.retry }),
        retryTimer: undefined,
      };
      this.slots.set(key, slot);
    }
    slot.online = true;
    if (slot.initiator && !slot.link && !slot.attempt) this.startAttempt(slot, randomCid());
  }

  private onSignal(from: PeerAddress, data: string): void {
    if (this.closed || !this.partners.has(from.id)) return;
    const signal = decodePeerSignal(data);
    if (!signal) return;
    const slot = this.slots.get(addressKey(from));
    if (!slot) return;
    if (signal.kind === 'offer') {
      if (slot.initiator) return; // roles are fixed: an offer from the answerer is a bug or an attack
      if (slot.attempt?.cid === signal.cid) return; // duplicate
      // The peer started over: whatever we had with it is dead on its side.
      slot.attempt?.close();
      slot.attempt = null;
      if (slot.link) {
        const old = slot.link;
        slot.link = null;
        old.close('replaced', 'the peer reconnected');
      }
      this.startAttempt(slot, signal.cid);
    }
    if (slot.attempt?.cid === signal.cid) void slot.attempt.handleSignal(signal);
  }

  // ---- attempts and links ------------------------------------------------------------------

  private startAttempt(slot: Slot, cid: string): void {
    clearTimeout(slot.retryTimer);
    const { peer } = slot;
    const create = this.opts.createAttempt ?? ((o: RtcAttemptOptions) => new RtcAttempt(o));
    const attempt = create({
      initiator: slot.initiator,
      cid,
      iceServers: this.opts.iceServers ?? (this.opts.signaling.iceServers as RTCIceServer[]),
      timeoutMs: this.opts.connectTimeoutMs,
      send: (signal) => {
        this.opts.signaling.signal(peer, encodePeerSignal(signal)).catch(() => undefined);
      },
    });
    slot.attempt = attempt;
    void this.finishAttempt(slot, attempt);
  }

  private async finishAttempt(slot: Slot, attempt: ConnectionAttempt): Promise<void> {
    const partner = this.partners.get(slot.peer.id);
    try {
      const transport = await attempt.open;
      if (slot.attempt !== attempt || !partner) throw new Error('attempt superseded');
      const expect: PeerExpectation = partner.inviteSecret
        ? { mode: 'invite', secret: partner.inviteSecret, publicKey: partner.key }
        : { mode: 'pinned', publicKey: partner.key };
      const link = await PeerLink.open({
        transport,
        identity: this.opts.identity,
        initiator: slot.initiator,
        expect,
        handler: this.opts.handler?.(slot.peer),
        bindingTimeoutMs: this.opts.bindingTimeoutMs,
      });
      if (slot.attempt !== attempt || this.closed) {
        link.close('superseded');
        return;
      }
      slot.attempt = null;
      slot.link = link;
      slot.openedBy = attempt;
      slot.backoff.reset();
      void link.closed.then((closed) => this.onLinkClosed(slot, link, closed));
      this.emit('link', { peer: slot.peer, link });
    } catch (error) {
      attempt.close();
      if (slot.attempt !== attempt) return;
      slot.attempt = null;
      if (!this.closed) this.emit('link-failed', { peer: slot.peer, error });
      this.scheduleRetry(slot);
    }
  }

  private onLinkClosed(slot: Slot, link: PeerLink, closed: LinkClosed): void {
    if (slot.link === link) slot.link = null;
    this.emit('link-closed', { peer: slot.peer, closed });
    if (this.slots.get(addressKey(slot.peer)) !== slot) return;
    if (!slot.online) {
      this.dropSlot(slot, 'offline');
      return;
    }
    // A deliberate close by either side is not retried; a lost or broken link is.
    if (closed.reason === 'transport' || closed.reason === 'protocol' || closed.reason === 'binding') this.scheduleRetry(slot);
  }

  private scheduleRetry(slot: Slot): void {
    // Only the offering side retries; the other answers whatever offer comes.
    if (!slot.initiator || !slot.online || this.closed) return;
    clearTimeout(slot.retryTimer);
    slot.retryTimer = setTimeout(() => {
      if (slot.online && !slot.link && !slot.attempt && !this.closed && this.slots.get(addressKey(slot.peer)) === slot) {
        this.startAttempt(slot, randomCid());
      }
    }, slot.backoff.next());
  }

  private dropSlot(slot: Slot, code: string): void {
    clearTimeout(slot.retryTimer);
    this.slots.delete(addressKey(slot.peer));
    if (slot.attempt) {
      const cid = slot.attempt.cid;
      slot.attempt.close();
      slot.attempt = null;
      this.opts.signaling.signal(slot.peer, encodePeerSignal({ v: 1, cid, kind: 'bye' })).catch(() => undefined);
    }
    slot.link?.close(code);
    slot.link = null;
  }
}
