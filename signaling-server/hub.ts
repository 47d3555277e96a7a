/**
 * The in-memory state of the signaling server and its rules, independent of sockets: who is
 * online, who subscribes to whom, and the invite mailboxes. Every rule about what one peer may
 * learn of another lives here:
 *
 * - A session is *mutual* with another when each subscribes to the other's id. Presence, signals
 *   and relays flow only between mutual sessions; the sender of a signal or relay to anyone else
 *   gets `unreachable`, exactly as if the recipient were offline.
 * - `subscribers` lists the online sessions that subscribe to the asker's id: they chose to be
 *   visible to that id by subscribing to it.
 * - A mailbox belongs to the identity that opened it, accepts one message, and expires.
 * - The open pool: a listing belongs to the socket that made it and ends with it. Only a listed
 *   peer may see the other listings or introduce itself (`poolHello`) to a listed peer; a hello to
 *   an id that is not listed is `unreachable`, as for an offline peer.
 *
 * Payloads (`data`) are passed through as opaque strings; nothing here reads them.
 */
import type {
  DeviceId,
  IncomingPoolHelloMessage,
  MailboxDeliveryMessage,
  MailboxId,
  PeerAddress,
  PoolPartnerToken,
  PoolPeer,
  SignalingId,
  ServerMessage,
  SignalingErrorCode,
} from '../src/protocol/signaling.ts';
import { UptimeTracker } from './pool.ts';

/** One authenticated socket as the hub sees it. */
export interface HubSession {
  readonly id: SignalingId;
  readonly device: DeviceId;
  /** Ids this session subscribes to. Owned by the hub: change it only through the hub. */
  readonly subs: Set<SignalingId>;
  /** Coarse token of the network the socket comes from (see pool.ts). */
  readonly networkToken: string;
  /** Delivers a message; returns false when it was dropped because the socket is not keeping up. */
  send(msg: ServerMessage): boolean;
}

/** A refused operation, with the code sent to the client. */
export interface HubFailure {
  ok: false;
  code: SignalingErrorCode;
  message: string;
}

/** Outcome of a hub operation. */
export type HubResult = { ok: true } | HubFailure;

/** Limits and clock of a hub. */
export interface HubOptions {
  /** Wall clock in milliseconds since the epoch (mailbox expiry). Injected so tests control time. */
  now: () => number;
  /** Default and longest mailbox lifetime, seconds. */
  mailboxTtlS: number;
  /** Shortest mailbox lifetime, seconds. */
  mailboxMinTtlS: number;
  maxSubscriptions: number;
  maxMailboxesPerId: number;
  maxMailboxes: number;
  /** Uptime observation window, ms (7 days). */
  uptimeWindowMs: number;
  uptimeMaxIntervals: number;
  uptimeMaxIds: number;
  /** Most listed peers in one pool answer. */
  poolPeersPerAnswer: number;
}

/** What a peer states when it lists itself in the open pool. */
export interface PoolListing {
  name: string;
  offeredBytes: number;
  balanceBytes: number;
}

interface Mailbox {
  owner: SignalingId;
  expiresAt: number;
  /** The one message, held until the owner is online to take it. */
  pending?: MailboxDeliveryMessage;
}

/** Address of a session. */
export function addressOf(s: HubSession): PeerAddress {
  return { id: s.id, device: s.device };
}

const UNREACHABLE: HubFailure = { ok: false, code: 'unreachable', message: 'no mutually subscribed recipient is online' };
const BUSY: HubFailure = { ok: false, code: 'recipient-busy', message: 'the recipient is not keeping up; message dropped' };
const NOT_LISTED: HubFailure = { ok: false, code: 'not-listed', message: 'list yourself in the open pool first' };
const NO_MAILBOX: HubFailure = { ok: false, code: 'mailbox-not-found', message: 'no open mailbox at that address' };

/** The signaling state. All methods are synchronous and never throw on client input. */
export class Hub {
  private readonly online = new Map<SignalingId, Map<DeviceId, HubSession>>();
  /** Reverse index of subscriptions: id → sessions that subscribe to it. */
  private readonly watchers = new Map<SignalingId, Set<HubSession>>();
  private readonly mailboxes = new Map<MailboxId, Mailbox>();
  private readonly mailboxesPerOwner = new Map<SignalingId, number>();
  /** Open-pool listings by identity, each owned by the session that made it. */
  private readonly pool = new Map<SignalingId, PoolListing & { session: HubSession }>();
  /** Online time per identity over the last 7 days (for the pool). */
  readonly uptime: UptimeTracker;
  private sessionCount = 0;

  constructor(private readonly opts: HubOptions) {
    this.uptime = new UptimeTracker({ now: opts.now, windowMs: opts.uptimeWindowMs, maxIntervals: opts.uptimeMaxIntervals, maxIds: opts.uptimeMaxIds });
  }

  /** The online session with this address, if any. */
  session(id: SignalingId, device: DeviceId): HubSession | undefined {
    return this.online.get(id)?.get(device);
  }

  /** Counts for `/metrics` and `/healthz`. */
  counts(): { identities: number; sessions: number; mailboxes: number; poolListings: number } {
    return { identities: this.online.size, sessions: this.sessionCount, mailboxes: this.mailboxes.size, poolListings: this.pool.size };
  }

  /**
   * Registers a newly authenticated session. The caller must first {@link leave} any session
   * with the same address (a reconnect replaces the old socket).
   */
  join(s: HubSession): void {
    let devices = this.online.get(s.id);
    if (!devices) {
      this.online.set(s.id, (devices = new Map()));
      this.uptime.online(s.id);
    }
    devices.set(s.device, s);
    this.sessionCount++;
  }

  /** Removes a session: mutual sessions learn it went offline; its subscriptions end. */
  leave(s: HubSession): void {
    const devices = this.online.get(s.id);
    if (!devices || devices.get(s.device) !== s) return;
    devices.delete(s.device);
    if (devices.size === 0) {
      this.online.delete(s.id);
      this.uptime.offline(s.id);
    }
    this.sessionCount--;
    if (this.pool.get(s.id)?.session === s) this.pool.delete(s.id);
    for (const watched of s.subs) {
      this.unwatch(watched, s);
      for (const t of this.sessionsOf(watched)) {
        if (t !== s && t.subs.has(s.id)) t.send({ type: 'presence', peer: addressOf(s), online: false });
      }
    }
    s.subs.clear();
  }

  /**
   * Adds subscriptions. For every id that becomes mutual with an online session, both sides are
   * told the other is online. All-or-nothing when the subscription limit would be exceeded.
   */
  subscribe(s: HubSession, ids: readonly SignalingId[]): HubResult {
    const fresh = [...new Set(ids)].filter((id) => !s.subs.has(id));
    if (s.subs.size + fresh.length > this.opts.maxSubscriptions) {
      return { ok: false, code: 'too-many-subscriptions', message: `at most ${this.opts.maxSubscriptions} subscriptions per socket` };
    }
    for (const id of fresh) {
      s.subs.add(id);
      let w = this.watchers.get(id);
      if (!w) this.watchers.set(id, (w = new Set()));
      w.add(s);
      for (const t of this.sessionsOf(id)) {
        if (t !== s && t.subs.has(s.id)) {
          s.send({ type: 'presence', peer: addressOf(t), online: true });
          t.send({ type: 'presence', peer: addressOf(s), online: true });
        }
      }
    }
    return { ok: true };
  }

  /** Removes subscriptions; sessions that stop being mutual are reported offline to each other. */
  unsubscribe(s: HubSession, ids: readonly SignalingId[]): HubResult {
    for (const id of new Set(ids)) {
      if (!s.subs.has(id)) continue;
      for (const t of this.sessionsOf(id)) {
        if (t !== s && t.subs.has(s.id)) {
          s.send({ type: 'presence', peer: addressOf(t), online: false });
          t.send({ type: 'presence', peer: addressOf(s), online: false });
        }
      }
      s.subs.delete(id);
      this.unwatch(id, s);
    }
    return { ok: true };
  }

  /** Online sessions (other than `s`) that subscribe to `s`'s id. */
  subscribers(s: HubSession): PeerAddress[] {
    const out: PeerAddress[] = [];
    for (const w of this.watchers.get(s.id) ?? []) if (w !== s) out.push(addressOf(w));
    return out;
  }

  /** Forwards an opaque WebRTC signal to one mutual session. */
  signal(from: HubSession, to: PeerAddress, data: string): HubResult {
    const t = this.session(to.id, to.device);
    if (!t || !this.mutual(from, t)) return UNREACHABLE;
    return t.send({ type: 'signal', from: addressOf(from), data }) ? { ok: true } : BUSY;
  }

  /**
   * Forwards an opaque relayed message to every mutual session of `to` (or only `device`).
   * Succeeds when at least one recipient took it.
   */
  relay(from: HubSession, to: SignalingId, device: DeviceId | undefined, data: string): HubResult {
    const targets = device === undefined ? [...this.sessionsOf(to)] : [this.session(to, device)].filter((t) => t !== undefined);
    let reached = 0;
    let delivered = 0;
    for (const t of targets) {
      if (!this.mutual(from, t)) continue;
      reached++;
      if (t.send({ type: 'relay', from: addressOf(from), data })) delivered++;
    }
    if (reached === 0) return UNREACHABLE;
    return delivered > 0 ? { ok: true } : BUSY;
  }

  /**
   * Opens a mailbox owned by `s`'s identity, or re-attaches to one it already owns (the lifetime
   * is not extended). When a message is waiting, it is returned for delivery and the mailbox is
   * gone: it was single-use.
   */
  mailboxOpen(s: HubSession, box: MailboxId, ttlS: number | undefined): { ok: true; expiresAt: number; waiting?: MailboxDeliveryMessage } | HubFailure {
    const existing = this.liveMailbox(box);
    if (existing) {
      if (existing.owner !== s.id) return { ok: false, code: 'mailbox-taken', message: 'that mailbox belongs to someone else' };
      if (existing.pending) {
        this.deleteMailbox(box, existing);
        return { ok: true, expiresAt: existing.expiresAt, waiting: existing.pending };
      }
      return { ok: true, expiresAt: existing.expiresAt };
    }
    if ((this.mailboxesPerOwner.get(s.id) ?? 0) >= this.opts.maxMailboxesPerId) {
      return { ok: false, code: 'mailbox-limit', message: `at most ${this.opts.maxMailboxesPerId} open mailboxes per identity` };
    }
    if (this.mailboxes.size >= this.opts.maxMailboxes) {
      return { ok: false, code: 'mailbox-limit', message: 'the server has too many open mailboxes; try later' };
    }
    const ttl = Math.min(this.opts.mailboxTtlS, Math.max(this.opts.mailboxMinTtlS, ttlS ?? this.opts.mailboxTtlS));
    const expiresAt = this.opts.now() + ttl * 1000;
    this.mailboxes.set(box, { owner: s.id, expiresAt });
    this.mailboxesPerOwner.set(s.id, (this.mailboxesPerOwner.get(s.id) ?? 0) + 1);
    return { ok: true, expiresAt };
  }

  /**
   * Posts the one message a mailbox accepts. It is delivered at once to every online session of
   * the owner (and the mailbox deleted), or held until the owner re-opens the mailbox.
   */
  mailboxPost(s: HubSession, box: MailboxId, data: string): HubResult {
    const mb = this.liveMailbox(box);
    if (!mb || mb.pending) return NO_MAILBOX;
    const msg: MailboxDeliveryMessage = { type: 'mailbox', box, from: addressOf(s), data };
    let delivered = false;
    for (const t of this.sessionsOf(mb.owner)) if (t.send(msg)) delivered = true;
    if (delivered) this.deleteMailbox(box, mb);
    else mb.pending = msg;
    return { ok: true };
  }

  /** Deletes a mailbox owned by `s`'s identity. */
  mailboxClose(s: HubSession, box: MailboxId): HubResult {
    const mb = this.liveMailbox(box);
    if (!mb || mb.owner !== s.id) return NO_MAILBOX;
    this.deleteMailbox(box, mb);
    return { ok: true };
  }

  /** Lists (or re-lists) `s`'s identity in the open pool; the listing ends with `s`. */
  poolList(s: HubSession, listing: PoolListing): HubResult {
    this.pool.set(s.id, { name: listing.name, offeredBytes: listing.offeredBytes, balanceBytes: listing.balanceBytes, session: s });
    return { ok: true };
  }

  /** Removes `s`'s identity from the open pool (whichever of its devices listed it). */
  poolUnlist(s: HubSession): HubResult {
    this.pool.delete(s.id);
    return { ok: true };
  }

  /**
   * The listed peers other than the asker (a uniform random sample when there are more than the
   * answer holds), each with its observed uptime and network token, and the network tokens of
   * the asker's online mutual peers. Only a listed peer may ask.
   */
  poolQuery(s: HubSession): { ok: true; peers: PoolPeer[]; partners: PoolPartnerToken[] } | HubFailure {
    if (!this.pool.has(s.id)) return NOT_LISTED;
    const limit = this.opts.poolPeersPerAnswer;
    // Reservoir sampling: one pass, bounded memory, every listing equally likely.
    const sample: (PoolListing & { session: HubSession; id: SignalingId })[] = [];
    let seen = 0;
    for (const [id, l] of this.pool) {
      if (id === s.id) continue;
      seen++;
      if (sample.length < limit) sample.push({ ...l, id });
      else {
        const j = Math.floor(Math.random() * seen);
        if (j < limit) sample[j] = { ...l, id };
      }
    }
    const peers = sample.map((l): PoolPeer => ({
      id: l.id,
      name: l.name,
      offeredBytes: l.offeredBytes,
      balanceBytes: l.balanceBytes,
      uptime7d: this.uptime.uptime(l.id),
      networkToken: l.session.networkToken,
    }));
    const partners: PoolPartnerToken[] = [];
    const seenTokens = new Set<string>();
    for (const id of s.subs) {
      for (const t of this.sessionsOf(id)) {
        const key = `${t.id}/${t.networkToken}`;
        if (t !== s && t.subs.has(s.id) && !seenTokens.has(key)) {
          seenTokens.add(key);
          partners.push({ id: t.id, networkToken: t.networkToken });
        }
      }
    }
    return { ok: true, peers, partners };
  }

  /**
   * Delivers an opaque introduction to the session that listed `to`. The sender must be listed
   * itself; an id that is not listed (or the sender's own) is `unreachable`.
   */
  poolHello(from: HubSession, to: SignalingId, data: string): HubResult {
    if (!this.pool.has(from.id)) return NOT_LISTED;
    const target = this.pool.get(to);
    if (!target || to === from.id) return UNREACHABLE;
    const msg: IncomingPoolHelloMessage = { type: 'poolHello', from: addressOf(from), data };
    return target.session.send(msg) ? { ok: true } : BUSY;
  }

  /** Deletes every expired mailbox; returns how many. */
  sweep(): number {
    const now = this.opts.now();
    let n = 0;
    for (const [box, mb] of this.mailboxes) {
      if (now >= mb.expiresAt) {
        this.deleteMailbox(box, mb);
        n++;
      }
    }
    return n;
  }

  private mutual(a: HubSession, b: HubSession): boolean {
    return a !== b && a.subs.has(b.id) && b.subs.has(a.id);
  }

  private sessionsOf(id: SignalingId): Iterable<HubSession> {
    return this.online.get(id)?.values() ?? [];
  }

  private unwatch(id: SignalingId, s: HubSession): void {
    const w = this.watchers.get(id);
    if (!w) return;
    w.delete(s);
    if (w.size === 0) this.watchers.delete(id);
  }

  private liveMailbox(box: MailboxId): Mailbox | undefined {
    const mb = this.mailboxes.get(box);
    if (mb && this.opts.now() >= mb.expiresAt) {
      this.deleteMailbox(box, mb);
      return undefined;
    }
    return mb;
  }

  private deleteMailbox(box: MailboxId, mb: Mailbox): void {
    this.mailboxes.delete(box);
    const n = (this.mailboxesPerOwner.get(mb.owner) ?? 1) - 1;
    if (n <= 0) this.mailboxesPerOwner.delete(mb.owner);
    else this.mailboxesPerOwner.set(mb.owner, n);
  }
}
