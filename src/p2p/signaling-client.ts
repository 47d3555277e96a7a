/**
 * The client of the signaling server (protocol in `src/protocol/signaling.ts`): authenticates
 * with the identity key, keeps the socket up with jittered exponential back-off, restores
 * subscriptions, open mailboxes and the open-pool listing after every reconnect, and turns server
 * messages into typed events. Works over the browser's `WebSocket` or any compatible one (the `ws` package in Node).
 */
import { authTranscript } from '../protocol/auth.ts';
import { fromBase64Url, toBase64Url } from '../protocol/encoding.ts';
import {
  SIGNALING_LIMITS,
  SIGNALING_VERSION,
  CLOSE_CODES,
  decodeServerMessage,
  type ClientMessage,
  type DeviceId,
  type IceServer,
  type MailboxId,
  type PeerAddress,
  type PoolListMessage,
  type PoolPartnerToken,
  type PoolPeer,
  type SignalingId,
  type ServerMessage,
  type WelcomeMessage,
} from '../protocol/signaling.ts';
import { Backoff, type BackoffOptions } from './backoff.ts';
import { SIGNALING_REQUEST_TIMEOUT_MS, SIGNALING_RETRY } from './constants.ts';
import { Emitter } from './emitter.ts';
import { SignalingError, SignalingUnavailableError } from './errors.ts';
import { signalingIdOf, type LinkIdentity } from './identity.ts';

/** The part of the WebSocket API the client uses (browser `WebSocket` and `ws` both fit). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** Opens a WebSocket to `url`. */
export type WebSocketFactory = (url: string) => WebSocketLike;

/** Options of {@link SignalingClient}. */
export interface SignalingClientOptions {
  /** The signaling URL, e.g. `wss://backup.example.org/ws`. */
  url: string;
  identity: LinkIdentity;
  /** This instance's device id; random by default (one per running app instance). */
  device?: DeviceId;
  /** Default: the global `WebSocket`. */
  createSocket?: WebSocketFactory;
  retry?: Partial<BackoffOptions>;
  requestTimeoutMs?: number;
}

/** Connection state. `waiting`: disconnected, a reconnect is scheduled. */
export type SignalingState = 'idle' | 'connecting' | 'ready' | 'waiting' | 'closed';

/** Events of {@link SignalingClient}. */
export interface SignalingEvents extends Record<string, unknown> {
  state: SignalingState;
  /** Authenticated (again); subscriptions and mailboxes have been re-sent. */
  ready: WelcomeMessage;
  presence: { peer: PeerAddress; online: boolean };
  signal: { from: PeerAddress; data: string };
  /** A relayed message; verify it (relay.ts) before trusting anything in it. */
  relay: { from: PeerAddress; data: Uint8Array };
  /** The message posted to one of our invite mailboxes (now gone from the server). */
  mailbox: { box: MailboxId; from: PeerAddress; data: Uint8Array };
  /** A stranger's introduction while we are listed in the open pool; verify it before trusting it. */
  poolHello: { from: PeerAddress; data: Uint8Array };
  /** A server error not tied to a request (e.g. a rate-limit notice). */
  error: SignalingError;
}

interface Pending {
  resolve(m: ServerMessage): void;
  reject(e: unknown): void;
  timer: ReturnType<typeof setTimeout>;
}

/** A random device id (16 bytes). */
export function randomDeviceId(): DeviceId {
  return toBase64Url(globalThis.crypto.getRandomValues(new Uint8Array(SIGNALING_LIMITS.deviceBytes))) as DeviceId;
}

/** Key of an address in maps. */
export function addressKey(a: PeerAddress): string {
  return `${a.id}/${a.device}`;
}

const OPEN = 1;

/**
 * A signaling connection that stays up until {@link close}. Create, subscribe to events, then
 * {@link start}.
 */
export class SignalingClient extends Emitter<SignalingEvents> {
  /** Our address on the server. */
  readonly self: PeerAddress;
  state: SignalingState = 'idle';
  /** The last welcome (ICE servers, limits), or null before the first authentication. */
  welcome: WelcomeMessage | null = null;

  private readonly opts: SignalingClientOptions;
  private readonly backoff: Backoff;
  private ws: WebSocketLike | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private nextRid = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly wanted = new Set<SignalingId>();
  private readonly mailboxes = new Map<MailboxId, number | undefined>();
  private readonly online = new Map<string, PeerAddress>();
  /** Our open-pool listing, re-sent after every reconnect; null when not listed. */
  private listing: Omit<PoolListMessage, 'type' | 'rid'> | null = null;

  constructor(opts: SignalingClientOptions) {
    super();
    this.opts = opts;
    this.self = { id: signalingIdOf(opts.identity.publicKey), device: opts.device ?? randomDeviceId() };
    this.backoff = new Backoff({ ...SIGNALING_RETRY, ...opts.retry });
  }

  /** Connects (and keeps reconnecting until {@link close}). */
  start(): void {
    if (this.state !== 'idle') return;
    this.connect();
  }

  /** Disconnects for good; pending requests fail with {@link SignalingUnavailableError}. */
  close(): void {
    if (this.state === 'closed') return;
    clearTimeout(this.retryTimer);
    this.setState('closed');
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000, 'client closing');
    this.disconnected();
  }

  /** ICE servers from the last welcome (empty before). */
  get iceServers(): IceServer[] {
    return this.welcome?.iceServers ?? [];
  }

  /** Mutually subscribed peers currently online. */
  onlinePeers(): PeerAddress[] {
    return [...this.online.values()];
  }

  /** True when `peer` is online and mutually subscribed. */
  isOnline(peer: PeerAddress): boolean {
    return this.online.has(addressKey(peer));
  }

  /**
   * Subscribes to `ids` (kept across reconnects). Resolves once the server confirmed, or at once
   * when offline (they are sent on the next connection).
   */
  async subscribe(ids: readonly SignalingId[]): Promise<void> {
    const fresh = ids.filter((id) => !this.wanted.has(id));
    for (const id of fresh) this.wanted.add(id);
    if (this.state === 'ready' && fresh.length > 0) await this.sendIds('subscribe', fresh);
  }

  /** Removes subscriptions. */
  async unsubscribe(ids: readonly SignalingId[]): Promise<void> {
    const gone = ids.filter((id) => this.wanted.delete(id));
    if (this.state === 'ready' && gone.length > 0) await this.sendIds('unsubscribe', gone);
  }

  /** Online instances that subscribe to our id (how a restored device finds its partners). */
  async subscribers(): Promise<PeerAddress[]> {
    const m = await this.call({ type: 'subscribers' });
    if (m.type !== 'subscribers') throw new SignalingError('internal', `unexpected answer ${m.type}`);
    return m.peers;
  }

  /** Sends an opaque WebRTC signal to a mutually subscribed instance. */
  async signal(to: PeerAddress, data: string): Promise<void> {
    await this.call({ type: 'signal', to, data });
  }

  /** Relays up to 16 KiB (already end-to-end signed by the caller, see relay.ts). */
  async relay(to: SignalingId, data: Uint8Array, device?: DeviceId): Promise<void> {
    if (data.length > SIGNALING_LIMITS.relayBytes) throw new RangeError(`relayed messages are at most ${SIGNALING_LIMITS.relayBytes} bytes`);
    await this.call({ type: 'relay', to, data: toBase64Url(data), ...(device ? { device } : {}) });
  }

  /**
   * Opens one of our invite mailboxes (kept across reconnects until its message arrives or it
   * is closed); resolves with its expiry (server clock, ms since the epoch).
   */
  async openMailbox(box: MailboxId, ttlS?: number): Promise<number> {
    this.mailboxes.set(box, ttlS);
    const m = await this.call({ type: 'mailboxOpen', box, ...(ttlS === undefined ? {} : { ttlS }) });
    if (m.type !== 'mailboxOpened') throw new SignalingError('internal', `unexpected answer ${m.type}`);
    return m.expiresAt;
  }

  /** Posts the one message an invite mailbox accepts. */
  async postMailbox(box: MailboxId, data: Uint8Array): Promise<void> {
    if (data.length > SIGNALING_LIMITS.mailboxMessageBytes) throw new RangeError('mailbox messages are at most 16 KiB');
    await this.call({ type: 'mailboxPost', box, data: toBase64Url(data) });
  }

  /** Closes one of our mailboxes. */
  async closeMailbox(box: MailboxId): Promise<void> {
    this.mailboxes.delete(box);
    await this.call({ type: 'mailboxClose', box });
  }

  /** Our current open-pool listing (null when not listed). */
  get poolListing(): Readonly<Omit<PoolListMessage, 'type' | 'rid'>> | null {
    return this.listing;
  }

  /**
   * Lists us in the open pool, or updates the listing (kept across reconnects until
   * {@link poolUnlist}). Resolves once the server confirmed, or at once when offline.
   */
  async poolList(listing: { offeredBytes: number; balanceBytes: number; name: string }): Promise<void> {
    this.listing = { offeredBytes: listing.offeredBytes, balanceBytes: listing.balanceBytes, name: listing.name };
    if (this.state === 'ready') await this.call({ type: 'poolList', ...this.listing });
  }

  /** Removes our listing. */
  async poolUnlist(): Promise<void> {
    this.listing = null;
    if (this.state === 'ready') await this.call({ type: 'poolUnlist' });
  }

  /**
   * The listed peers (other than us) with their observed uptime and network token, and the
   * network tokens of our online partners. We must be listed ourselves.
   */
  async poolQuery(): Promise<{ peers: PoolPeer[]; partners: PoolPartnerToken[] }> {
    const m = await this.call({ type: 'poolQuery' });
    if (m.type !== 'pool') throw new SignalingError('internal', `unexpected answer ${m.type}`);
    return { peers: m.peers, partners: m.partners };
  }

  /** Sends an introduction of at most 4 KiB (already signed by the caller) to a listed peer. */
  async poolHello(to: SignalingId, data: Uint8Array): Promise<void> {
    if (data.length > SIGNALING_LIMITS.poolHelloBytes) throw new RangeError(`pool introductions are at most ${SIGNALING_LIMITS.poolHelloBytes} bytes`);
    await this.call({ type: 'poolHello', to, data: toBase64Url(data) });
  }

  // ---- connection ------------------------------------------------------------------------

  private setState(s: SignalingState): void {
    if (this.state === s) return;
    this.state = s;
    this.emit('state', s);
  }

  private connect(): void {
    this.setState('connecting');
    let ws: WebSocketLike;
    try {
      const create = this.opts.createSocket ?? ((url: string) => new WebSocket(url) as unknown as WebSocketLike);
      ws = create(this.opts.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      const text = typeof ev.data === 'string' ? ev.data : null;
      const decoded = text === null ? null : decodeServerMessage(text);
      if (!decoded?.ok) {
        // A server that sends what it should not is not one we can work with; try again later.
        ws.close(4400, 'undecodable message');
        return;
      }
      void this.onServerMessage(ws, decoded.value);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.disconnected();
      if (this.state === 'closed') return;
      if (ev.code === CLOSE_CODES.replaced) {
        // Another instance with our device id took over: two would fight forever.
        this.setState('closed');
        return;
      }
      this.scheduleReconnect();
    };
    ws.onerror = () => {
      // The close event follows and drives the reconnect.
    };
  }

  private scheduleReconnect(): void {
    if (this.state === 'closed') return;
    this.setState('waiting');
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (this.state === 'waiting') this.connect();
    }, this.backoff.next());
  }

  private disconnected(): void {
    const err = new SignalingUnavailableError('the signaling connection closed');
    for (const [rid, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
      this.pending.delete(rid);
    }
    const was = [...this.online.values()];
    this.online.clear();
    for (const peer of was) this.emit('presence', { peer, online: false });
  }

  private async onServerMessage(ws: WebSocketLike, m: ServerMessage): Promise<void> {
    if ('rid' in m && m.rid !== undefined && m.type !== 'welcome') {
      const p = this.pending.get(m.rid);
      if (p) {
        this.pending.delete(m.rid);
        clearTimeout(p.timer);
        if (m.type === 'error') p.reject(new SignalingError(m.code, m.message));
        else p.resolve(m);
        return;
      }
    }
    switch (m.type) {
      case 'challenge':
        await this.authenticate(ws, m.nonce, m.versions);
        return;
      case 'welcome':
        await this.onWelcome(ws, m);
        return;
      case 'presence': {
        const key = addressKey(m.peer);
        if (m.online) this.online.set(key, m.peer);
        else if (!this.online.delete(key)) return;
        this.emit('presence', { peer: m.peer, online: m.online });
        return;
      }
      case 'signal':
        this.emit('signal', { from: m.from, data: m.data });
        return;
      case 'relay': {
        const data = fromBase64Url(m.data);
        if (data) this.emit('relay', { from: m.from, data });
        return;
      }
      case 'mailbox': {
        this.mailboxes.delete(m.box);
        const data = fromBase64Url(m.data);
        if (data) this.emit('mailbox', { box: m.box, from: m.from, data });
        return;
      }
      case 'poolHello': {
        const data = fromBase64Url(m.data);
        if (data) this.emit('poolHello', { from: m.from, data });
        return;
      }
      case 'error':
        if (m.code === 'auth-failed' || m.code === 'unsupported-version') ws.close(1000, 'authentication refused');
        this.emit('error', new SignalingError(m.code, m.message));
        return;
      default:
        return; // answers to requests that timed out meanwhile
    }
  }

  private async authenticate(ws: WebSocketLike, nonce: string, versions: number[]): Promise<void> {
    if (!versions.includes(SIGNALING_VERSION)) {
      ws.close(1000, 'no common protocol version');
      return;
    }
    const host = new URL(this.opts.url).host;
    const sig = await this.opts.identity.sign(authTranscript(host, nonce, this.self.device));
    if (this.ws !== ws || ws.readyState !== OPEN) return;
    ws.send(JSON.stringify({ type: 'auth', v: SIGNALING_VERSION, id: this.self.id, device: this.self.device, sig: toBase64Url(sig) } satisfies ClientMessage));
  }

  private async onWelcome(ws: WebSocketLike, m: WelcomeMessage): Promise<void> {
    if (m.id !== this.self.id || m.device !== this.self.device) {
      ws.close(1000, 'welcomed as someone else');
      return;
    }
    this.welcome = m;
    this.backoff.reset();
    this.setState('ready');
    try {
      if (this.wanted.size > 0) await this.sendIds('subscribe', [...this.wanted]);
      for (const [box, ttlS] of this.mailboxes) await this.call({ type: 'mailboxOpen', box, ...(ttlS === undefined ? {} : { ttlS }) });
      if (this.listing) await this.call({ type: 'poolList', ...this.listing });
    } catch {
      // The socket dropped while restoring; the next connection restores again.
      return;
    }
    if (this.ws === ws) this.emit('ready', m);
  }

  private async sendIds(type: 'subscribe' | 'unsubscribe', ids: SignalingId[]): Promise<void> {
    for (let i = 0; i < ids.length; i += SIGNALING_LIMITS.idsPerMessage) {
      await this.call({ type, ids: ids.slice(i, i + SIGNALING_LIMITS.idsPerMessage) });
    }
  }

  /** Sends a request with a fresh rid; resolves with the answer, rejects with the server's error. */
  private call(msg: ClientMessage): Promise<ServerMessage> {
    const ws = this.ws;
    if (this.state !== 'ready' || !ws || ws.readyState !== OPEN) {
      return Promise.reject(new SignalingUnavailableError('not connected to the signaling server'));
    }
    const rid = this.nextRid;
    this.nextRid = this.nextRid >= SIGNALING_LIMITS.maxRid ? 1 : this.nextRid + 1;
    return new Promise<ServerMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        reject(new SignalingUnavailableError('the signaling server did not answer in time'));
      }, this.opts.requestTimeoutMs ?? SIGNALING_REQUEST_TIMEOUT_MS);
      this.pending.set(rid, { resolve, reject, timer });
      ws.send(JSON.stringify({ ...msg, rid }));
    });
  }
}
