/**
 * Audits through the signaling server's relay, for when the owner has no data channel: the service
 * worker with no page open (workers have no WebRTC). Both ends are here:
 *
 * - {@link RelayAuditTransport} (owner, in the service worker): opens its own signaling socket as
 *   this identity, sends each challenge as an owner-signed relayed message to the partner's online
 *   instances, and waits for the answer parts. It never judges: the worker verifies the reassembled
 *   answer (holder-signed, bound to the fresh nonce) exactly as one that came over a link.
 * - {@link AuditRelayResponder} (partner, in an open page): checks the envelope (signature, sender,
 *   recipient, freshness, replay), that an agreement with that owner is in force and the owner's
 *   rate, and only then reads the held bytes and answers, split into signed parts.
 *
 * The server sees only opaque signed bytes and stores none of them (relays are not mailboxes).
 */
import { AnswerAssembler, AUDIT_RELAY_LABEL, decodeAuditRelay, encodeAuditRelay, splitAnswer, type AuditRelayMessage } from '../core/audit/relay.ts';
import { peerIdFromPublicKey } from '../core/keys/identity.ts';
import { parsePartnerRequest, type PartnerRequest } from '../core/partner/messages.ts';
import { publicKeyOf, signalingIdOf, type LinkIdentity } from '../p2p/identity.ts';
import { MAX_RELAY_BODY_BYTES, openRelay, ReplayGuard, sealRelay } from '../p2p/relay.ts';
import { SignalingClient, type SignalingEvents, type WebSocketFactory } from '../p2p/signaling-client.ts';
import type { Unsubscribe } from '../p2p/emitter.ts';
import { fromBase64Url, toBase64Url } from '../protocol/encoding.ts';
import type { DeviceId, PeerAddress, SignalingId } from '../protocol/signaling.ts';
import type { AuditTransport } from './audits.ts';
import type { Requester } from './holder.ts';

/** Time to open and authenticate the worker's signaling socket. */
export const RELAY_CONNECT_TIMEOUT_MS = 15_000;
/** Time for a partner's presence after subscribing (the server reports it with the subscription). */
export const RELAY_PRESENCE_WAIT_MS = 3_000;
/** Time for a partner's whole answer. */
export const RELAY_ANSWER_TIMEOUT_MS = 30_000;
/** Relayed challenges a partner answers per owner in a burst, and how fast that refills. */
export const RELAY_AUDIT_BURST = 4;
export const RELAY_AUDIT_REFILL_MS = 10 * 60_000;

/** A relayed audit challenge as the partner-request parser checks it. */
export type AuditChallengeRequest = Extract<PartnerRequest, { type: 'audit.challenge' }>;

/** Signaling URL of the origin at `href` (the page's or the worker's location). */
export function signalingUrlFor(href: string): string {
  const u = new URL('/ws', href);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.href;
}

// ---------------------------------------------------------------------------------------------
// Owner side
// ---------------------------------------------------------------------------------------------

/** Options of {@link RelayAuditTransport}. */
export interface RelayAuditOptions {
  url: string;
  identity: LinkIdentity;
  createSocket?: WebSocketFactory;
  connectTimeoutMs?: number;
  presenceWaitMs?: number;
  answerTimeoutMs?: number;
}

interface Round {
  partner: SignalingId;
  /** One assembler per answering instance of the partner: the first complete answer wins. */
  byDevice: Map<DeviceId, AnswerAssembler>;
  nonce: Uint8Array;
  done(answer: Uint8Array | null): void;
}

/**
 * Carries audit challenges over the relay. One instance per run of due audits: it connects on first
 * use and must be {@link close}d when the run ends.
 */
export class RelayAuditTransport {
  readonly #opts: RelayAuditOptions;
  #client: SignalingClient | null = null;
  #connected: Promise<boolean> | null = null;
  readonly #replay = new ReplayGuard();
  readonly #rounds = new Map<string, Round>();
  /** Relayed messages ignored (forged, stale, replayed, of another round or sender) and parts taken. */
  readonly counters = { ignored: 0, parts: 0 };

  constructor(opts: RelayAuditOptions) {
    this.#opts = opts;
  }

  /** The transport for `AuditRunner`: the answer bytes, or null when the partner was not reached. */
  readonly transport: AuditTransport = (partnerKey, challenge) => this.#challenge(partnerKey, challenge);

  /** Closes the socket; rounds still waiting resolve null. */
  close(): void {
    for (const r of [...this.#rounds.values()]) r.done(null);
    this.#client?.close();
    this.#client = null;
  }

  #connect(): Promise<boolean> {
    this.#connected ??= new Promise<boolean>((resolve) => {
      const client = new SignalingClient({
        url: this.#opts.url,
        identity: this.#opts.identity,
        ...(this.#opts.createSocket ? { createSocket: this.#opts.createSocket } : {}),
      });
      this.#client = client;
      client.on('relay', (e) => void this.#onRelay(e));
      const timer = setTimeout(() => {
        off();
        resolve(false);
      }, this.#opts.connectTimeoutMs ?? RELAY_CONNECT_TIMEOUT_MS);
      const off = client.on('ready', () => {
        clearTimeout(timer);
        off();
        resolve(true);
      });
      client.start();
    });
    return this.#connected;
  }

  async #challenge(partnerKey: Uint8Array, challenge: Parameters<AuditTransport>[1]): Promise<Uint8Array | null> {
    const nonce = fromBase64Url(challenge.nonce);
    if (!nonce || nonce.length !== 16) return null;
    if (!(await this.#connect())) return null;
    const client = this.#client;
    if (!client) return null;
    const partner = signalingIdOf(partnerKey);
    try {
      await client.subscribe([partner]);
      if (!(await this.#online(client, partner))) return null;
      const body = encodeAuditRelay({ kind: 'challenge', nonce, items: challenge.items });
      const sealed = await sealRelay(this.#opts.identity, partnerKey, body, { label: AUDIT_RELAY_LABEL });
      const key = toBase64Url(nonce);
      const answer = new Promise<Uint8Array | null>((resolve) => {
        const timer = setTimeout(() => round.done(null), this.#opts.answerTimeoutMs ?? RELAY_ANSWER_TIMEOUT_MS);
        const round: Round = {
          partner,
          byDevice: new Map(),
          nonce,
          done: (a) => {
            clearTimeout(timer);
            this.#rounds.delete(key);
            resolve(a);
          },
        };
        this.#rounds.set(key, round);
      });
      try {
        await client.relay(partner, sealed);
      } catch {
        this.#rounds.get(key)?.done(null); // unreachable, busy or rate-limited: not the partner's fault
      }
      return await answer;
    } catch {
      return null;
    } finally {
      // Partner pages see this socket as an instance of ours while subscribed: leave at once.
      if (this.#client === client) void client.unsubscribe([partner]).catch(() => undefined);
    }
  }

  /** Resolves true once an instance of `id` is online and mutually subscribed. */
  #online(client: SignalingClient, id: SignalingId): Promise<boolean> {
    if (client.onlinePeers().some((p) => p.id === id)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        off();
        resolve(false);
      }, this.#opts.presenceWaitMs ?? RELAY_PRESENCE_WAIT_MS);
      const off = client.on('presence', ({ peer, online }) => {
        if (peer.id !== id || !online) return;
        clearTimeout(timer);
        off();
        resolve(true);
      });
    });
  }

  async #onRelay({ from, data }: SignalingEvents['relay']): Promise<void> {
    let part: Extract<AuditRelayMessage, { kind: 'answer-part' }>;
    try {
      const body = await openRelay(data, { from: publicKeyOf(from.id), me: this.#opts.identity.publicKey, replay: this.#replay, label: AUDIT_RELAY_LABEL });
      const m = decodeAuditRelay(body);
      if (m.kind !== 'answer-part') throw new Error('not an answer');
      part = m;
    } catch {
      this.counters.ignored++; // forged, stale, replayed or not ours
      return;
    }
    const round = this.#rounds.get(toBase64Url(part.nonce));
    if (!round || round.partner !== from.id) {
      this.counters.ignored++; // an old round's answer, or another partner's
      return;
    }
    this.counters.parts++;
    let assembler = round.byDevice.get(from.device);
    if (!assembler) round.byDevice.set(from.device, (assembler = new AnswerAssembler(round.nonce)));
    try {
      const answer = assembler.add(part);
      if (answer) round.done(answer);
    } catch {
      round.byDevice.delete(from.device); // inconsistent parts from that instance: wait for another
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Partner side
// ---------------------------------------------------------------------------------------------

/** What the responder needs of the signaling client. */
export interface RelaySignaling {
  on(event: 'relay', listener: (e: SignalingEvents['relay']) => void): Unsubscribe;
  relay(to: SignalingId, data: Uint8Array, device?: DeviceId): Promise<void>;
}

/** Options of {@link AuditRelayResponder}. */
export interface AuditRelayResponderOptions {
  signaling: RelaySignaling;
  identity: LinkIdentity;
  /** True when an agreement with this owner is in force. Checked before any work. */
  hasAgreement(owner: Requester): Promise<boolean>;
  /** Builds the holder-signed answer from the bytes held (holder.ts). */
  answer(owner: Requester, req: AuditChallengeRequest): Promise<Uint8Array>;
  now?: () => number;
  burst?: number;
  refillMs?: number;
}

/** What the responder did, for the app and tests. */
export interface AuditRelayCounters {
  /** Challenges answered. */
  answered: number;
  /** Envelopes that did not verify or bodies that did not parse. */
  invalid: number;
  /** Verified challenges from someone we have no agreement with. */
  refused: number;
  /** Challenges dropped by the per-owner rate limit (or while one is in flight). */
  rateLimited: number;
}

/** Answers relayed audit challenges from owners this device holds data for. */
export class AuditRelayResponder {
  readonly counters: AuditRelayCounters = { answered: 0, invalid: 0, refused: 0, rateLimited: 0 };
  readonly #opts: AuditRelayResponderOptions;
  readonly #replay = new ReplayGuard();
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #inFlight = new Set<string>();
  #off: Unsubscribe | null = null;

  constructor(opts: AuditRelayResponderOptions) {
    this.#opts = opts;
  }

  /** Starts answering. */
  start(): void {
    this.#off ??= this.#opts.signaling.on('relay', (e) => void this.handle(e.from, e.data));
  }

  /** Stops answering. */
  stop(): void {
    this.#off?.();
    this.#off = null;
  }

  /** Handles one relayed message; resolves once it was answered or dropped. */
  async handle(from: PeerAddress, data: Uint8Array): Promise<void> {
    const now = (this.#opts.now ?? Date.now)();
    let ownerKey: Uint8Array;
    let challenge: Extract<AuditRelayMessage, { kind: 'challenge' }>;
    try {
      ownerKey = publicKeyOf(from.id);
      const body = await openRelay(data, { from: ownerKey, me: this.#opts.identity.publicKey, now, replay: this.#replay, label: AUDIT_RELAY_LABEL });
      const m = decodeAuditRelay(body);
      if (m.kind !== 'challenge') throw new Error('not a challenge');
      challenge = m;
    } catch {
      this.counters.invalid++;
      return;
    }
    const owner: Requester = { peerId: peerIdFromPublicKey(ownerKey), publicKey: ownerKey };
    if (!(await this.#opts.hasAgreement(owner))) {
      this.counters.refused++;
      return;
    }
    if (this.#inFlight.has(owner.peerId) || !this.#take(owner.peerId, now)) {
      this.counters.rateLimited++;
      return;
    }
    let req: AuditChallengeRequest;
    try {
      req = parsePartnerRequest({ type: 'audit.challenge', nonce: toBase64Url(challenge.nonce), items: challenge.items }) as AuditChallengeRequest;
    } catch {
      this.counters.invalid++;
      return;
    }
    this.#inFlight.add(owner.peerId);
    try {
      const answer = await this.#opts.answer(owner, req);
      for (const part of splitAnswer(challenge.nonce, answer, MAX_RELAY_BODY_BYTES)) {
        const sealed = await sealRelay(this.#opts.identity, ownerKey, part, { label: AUDIT_RELAY_LABEL });
        await this.#opts.signaling.relay(from.id, sealed, from.device);
      }
      this.counters.answered++;
    } catch {
      // The asking instance left or the server refused: the owner records it as unreachable.
    } finally {
      this.#inFlight.delete(owner.peerId);
    }
  }

  /** Token bucket per owner. */
  #take(owner: string, now: number): boolean {
    const burst = this.#opts.burst ?? RELAY_AUDIT_BURST;
    const refill = this.#opts.refillMs ?? RELAY_AUDIT_REFILL_MS;
    const b = this.#buckets.get(owner) ?? { tokens: burst, at: now };
    const tokens = Math.min(burst, b.tokens + Math.max(0, now - b.at) / refill);
    if (tokens < 1) {
      this.#buckets.set(owner, { tokens, at: now });
      return false;
    }
    this.#buckets.set(owner, { tokens: tokens - 1, at: now });
    return true;
  }
}
