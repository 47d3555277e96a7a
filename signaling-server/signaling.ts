/**
 * The signaling protocol on one WebSocket: challenge → auth → routed messages. Each socket is
 * rate-limited by token buckets; every frame is decoded by the shared total decoder, so no input
 * can throw out of a handler. Payloads are forwarded as opaque strings and never logged.
 */
import type { WebSocket } from 'ws';
import {
  CLOSE_CODES,
  SIGNALING_LIMITS,
  SIGNALING_VERSION,
  SUPPORTED_SIGNALING_VERSIONS,
  decodeClientMessage,
  type ClientMessage,
  type DeviceId,
  type SignalingId,
  type ServerLimits,
  type ServerMessage,
  type SignalingErrorCode,
} from '../src/protocol/signaling.ts';
import { randomBytes } from 'node:crypto';
import { newNonce, verifyAuth } from './auth.ts';
import type { ServerConfig } from './config.ts';
import {
  MAILBOX_MIN_TTL_S,
  MAX_MAILBOXES,
  MAX_MAILBOXES_PER_ID,
  MAX_SUBSCRIPTIONS_PER_SOCKET,
  RATE_DROPS_BEFORE_CLOSE,
  RATE_DROP_WINDOW_MS,
  RATE_NOTICE_INTERVAL_MS,
  SEND_BUFFER_LIMIT_BYTES,
  UPTIME_MAX_IDS,
  UPTIME_MAX_INTERVALS_PER_ID,
  UPTIME_WINDOW_MS,
} from './constants.ts';
import { Hub, type HubResult, type HubSession } from './hub.ts';
import { iceServersFor } from './ice.ts';
import type { Logger } from './log.ts';
import { Metrics } from './metrics.ts';
import { networkToken } from './pool.ts';
import { TokenBucket } from './ratelimit.ts';

/** Clocks used by the service; injected by tests. */
export interface Clocks {
  /** Wall clock, ms since the epoch (mailbox expiry, TURN credential expiry). */
  now: () => number;
  /** Monotonic clock, ms (rate limiting, timeouts). */
  monotonic: () => number;
}

class Session implements HubSession {
  readonly subs = new Set<SignalingId>();
  readonly networkToken: string;
  constructor(
    readonly id: SignalingId,
    readonly device: DeviceId,
    readonly conn: Connection,
  ) {
    this.networkToken = conn.networkToken;
  }

  send(msg: ServerMessage): boolean {
    return this.conn.send(msg);
  }
}

class Connection {
  state: 'challenged' | 'ready' | 'closed' = 'challenged';
  session: Session | undefined;
  readonly nonce = newNonce();
  readonly messages: TokenBucket;
  readonly relays: TokenBucket;
  private drops = 0;
  private dropWindowStart: number;
  private lastNotice = -Infinity;
  private authTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly ws: WebSocket,
    /** Hosts the client may have signed for (PUBLIC_HOSTS, or this request's Host header). */
    readonly hosts: readonly string[],
    /** Token of the client's network (/24 or /48), never the address itself. */
    readonly networkToken: string,
    private readonly service: SignalingService,
  ) {
    const { config, clocks } = service;
    this.messages = new TokenBucket(config.messagesPerS, config.messagesBurst, clocks.monotonic);
    this.relays = new TokenBucket(config.relaysPerS, config.relaysBurst, clocks.monotonic);
    this.dropWindowStart = clocks.monotonic();
    this.authTimer = setTimeout(() => {
      if (this.state === 'challenged') this.closeWith(CLOSE_CODES.authTimeout, 'authentication timed out');
    }, config.authTimeoutMs);
    this.authTimer.unref?.();
  }

  /** Sends unless the socket is closed or not keeping up; returns whether it was sent. */
  send(msg: ServerMessage): boolean {
    const ws = this.ws;
    if (this.state === 'closed' || ws.readyState !== ws.OPEN) return false;
    if (ws.bufferedAmount > SEND_BUFFER_LIMIT_BYTES) return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  error(code: SignalingErrorCode, message: string, rid: number | undefined): void {
    Metrics.inc(this.service.metrics.errors, code);
    this.send(rid === undefined ? { type: 'error', code, message } : { type: 'error', code, message, rid });
  }

  closeWith(code: number, reason: string): void {
    if (this.state === 'closed') return;
    Metrics.inc(this.service.metrics.closes, code);
    this.state = 'closed';
    this.ws.close(code, reason);
    this.service.detach(this);
  }

  /** Called once when the socket is gone, however it ended. */
  closed(): void {
    if (this.authTimer) clearTimeout(this.authTimer);
    this.authTimer = undefined;
    this.state = 'closed';
    this.service.detach(this);
  }

  /** Accounts a dropped message; closes the socket when it keeps flooding. */
  rateLimited(rid: number | undefined): void {
    const { metrics, clocks } = this.service;
    Metrics.inc(metrics.drops, 'rate-limited');
    const now = clocks.monotonic();
    if (now - this.dropWindowStart > RATE_DROP_WINDOW_MS) {
      this.dropWindowStart = now;
      this.drops = 0;
    }
    if (++this.drops > RATE_DROPS_BEFORE_CLOSE) {
      this.closeWith(CLOSE_CODES.policy, 'rate limit exceeded');
      return;
    }
    if (now - this.lastNotice >= RATE_NOTICE_INTERVAL_MS) {
      this.lastNotice = now;
      this.error('rate-limited', 'too many messages; some were dropped', rid);
    }
  }

  authenticated(): void {
    if (this.authTimer) clearTimeout(this.authTimer);
    this.authTimer = undefined;
    this.state = 'ready';
  }
}

/** The signaling service: accepts sockets and runs the protocol on them. */
export class SignalingService {
  readonly hub: Hub;
  readonly metrics = new Metrics();
  private readonly connections = new Set<Connection>();
  private readonly limits: ServerLimits;
  /** Key of the network tokens: random per process, never leaves it. */
  private readonly networkKey = new Uint8Array(randomBytes(32));

  constructor(
    readonly config: ServerConfig,
    readonly clocks: Clocks,
    private readonly logger: Logger,
  ) {
    this.hub = new Hub({
      now: clocks.now,
      mailboxTtlS: config.mailboxTtlS,
      mailboxMinTtlS: Math.min(MAILBOX_MIN_TTL_S, config.mailboxTtlS),
      maxSubscriptions: MAX_SUBSCRIPTIONS_PER_SOCKET,
      maxMailboxesPerId: MAX_MAILBOXES_PER_ID,
      maxMailboxes: MAX_MAILBOXES,
      uptimeWindowMs: UPTIME_WINDOW_MS,
      uptimeMaxIntervals: UPTIME_MAX_INTERVALS_PER_ID,
      uptimeMaxIds: UPTIME_MAX_IDS,
      poolPeersPerAnswer: SIGNALING_LIMITS.poolPeersPerAnswer,
    });
    this.limits = {
      relayBytes: SIGNALING_LIMITS.relayBytes,
      mailboxBytes: SIGNALING_LIMITS.mailboxMessageBytes,
      mailboxTtlS: config.mailboxTtlS,
      messagesPerS: config.messagesPerS,
      relaysPerS: config.relaysPerS,
      maxSubscriptions: MAX_SUBSCRIPTIONS_PER_SOCKET,
    };
  }

  /** Numbers for `/healthz` and `/metrics`. */
  gauges(): { sockets: number; authenticated: number; mailboxes: number; identities: number; poolListings: number } {
    const c = this.hub.counts();
    return { sockets: this.connections.size, authenticated: c.sessions, mailboxes: c.mailboxes, identities: c.identities, poolListings: c.poolListings };
  }

  /**
   * Takes over a freshly upgraded socket: sends the challenge and handles its frames. `ip` is the
   * client's address (from `X-Forwarded-For` behind a trusted proxy); only its network token is kept.
   */
  accept(ws: WebSocket, hosts: readonly string[], ip = 'unknown'): void {
    const conn = new Connection(ws, hosts, networkToken(this.networkKey, ip), this);
    this.connections.add(conn);
    ws.on('message', (data, isBinary) => {
      try {
        this.onFrame(conn, data, isBinary);
      } catch (err) {
        // A bug here must cost one socket, never the process.
        this.logger.log('error', 'signaling handler failed', { err: err instanceof Error ? err.message : String(err) });
        conn.error('internal', 'internal error', undefined);
      }
    });
    ws.on('close', () => {
      conn.closed();
      this.connections.delete(conn);
    });
    conn.send({ type: 'challenge', v: SIGNALING_VERSION, versions: [...SUPPORTED_SIGNALING_VERSIONS], nonce: conn.nonce });
  }

  /** Removes a connection's session from the hub (idempotent). */
  detach(conn: Connection): void {
    const s = conn.session;
    if (!s) return;
    conn.session = undefined;
    this.hub.leave(s);
  }

  /** Deletes expired mailboxes. */
  sweep(): void {
    const n = this.hub.sweep();
    if (n > 0) this.logger.log('debug', 'mailboxes expired', { count: n });
  }

  /** Forgets uptime history older than the 7-day window. */
  sweepUptime(): void {
    this.hub.uptime.sweep();
  }

  /** Closes every socket with "going away" and stops the metrics sampler. */
  closeAll(): void {
    this.metrics.stop();
    for (const conn of this.connections) conn.closeWith(CLOSE_CODES.goingAway, 'server shutting down');
  }

  private onFrame(conn: Connection, data: unknown, isBinary: boolean): void {
    if (conn.state === 'closed') return;
    if (isBinary) {
      conn.closeWith(CLOSE_CODES.unsupportedData, 'binary frames are not accepted');
      return;
    }
    if (!conn.messages.take()) {
      conn.rateLimited(undefined);
      return;
    }
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    const decoded = decodeClientMessage(text);
    if (!decoded.ok) {
      conn.error(decoded.code, decoded.message, decoded.rid);
      if (conn.state === 'challenged') conn.closeWith(CLOSE_CODES.unauthenticated, 'authenticate first');
      return;
    }
    const msg = decoded.value;
    Metrics.inc(this.metrics.messages, msg.type);
    if (conn.state === 'challenged') {
      this.onAuth(conn, msg);
      return;
    }
    this.onMessage(conn, msg);
  }

  private onAuth(conn: Connection, msg: ClientMessage): void {
    if (msg.type !== 'auth') {
      conn.error('unauthenticated', 'authenticate first', msg.rid);
      conn.closeWith(CLOSE_CODES.unauthenticated, 'authenticate first');
      return;
    }
    if (!SUPPORTED_SIGNALING_VERSIONS.includes(msg.v)) {
      conn.error('unsupported-version', `supported versions: ${SUPPORTED_SIGNALING_VERSIONS.join(', ')}`, msg.rid);
      conn.closeWith(CLOSE_CODES.unauthenticated, 'unsupported version');
      return;
    }
    if (!verifyAuth(msg, conn.nonce, conn.hosts)) {
      conn.error('auth-failed', 'signature does not verify', msg.rid);
      conn.closeWith(CLOSE_CODES.unauthenticated, 'authentication failed');
      return;
    }
    const previous = this.hub.session(msg.id, msg.device);
    if (previous instanceof Session) previous.conn.closeWith(CLOSE_CODES.replaced, 'replaced by a newer connection');
    if (previous) this.hub.leave(previous);
    conn.authenticated();
    const session = new Session(msg.id, msg.device, conn);
    conn.session = session;
    this.hub.join(session);
    this.logger.log('debug', 'authenticated', { id: msg.id, device: msg.device });
    conn.send({
      type: 'welcome',
      v: msg.v,
      id: msg.id,
      device: msg.device,
      iceServers: iceServersFor(this.config, msg.id, this.clocks.now()),
      limits: this.limits,
      ...(msg.rid === undefined ? {} : { rid: msg.rid }),
    });
  }

  private onMessage(conn: Connection, msg: ClientMessage): void {
    const s = conn.session!;
    const finish = (r: HubResult): void => {
      if (!r.ok) {
        if (r.code === 'unreachable' || r.code === 'recipient-busy') Metrics.inc(this.metrics.drops, r.code);
        conn.error(r.code, r.message, msg.rid);
      } else if (msg.rid !== undefined) {
        conn.send({ type: 'ack', rid: msg.rid });
      }
    };
    switch (msg.type) {
      case 'auth':
        conn.error('bad-message', 'already authenticated', msg.rid);
        return;
      case 'subscribe':
        finish(this.hub.subscribe(s, msg.ids));
        return;
      case 'unsubscribe':
        finish(this.hub.unsubscribe(s, msg.ids));
        return;
      case 'subscribers':
        conn.send({ type: 'subscribers', peers: this.hub.subscribers(s), ...(msg.rid === undefined ? {} : { rid: msg.rid }) });
        return;
      case 'signal': {
        const r = this.hub.signal(s, msg.to, msg.data);
        if (r.ok) this.metrics.delivered++;
        finish(r);
        return;
      }
      case 'relay':
      case 'mailboxPost': {
        if (!conn.relays.take()) {
          conn.rateLimited(msg.rid);
          return;
        }
        const r = msg.type === 'relay' ? this.hub.relay(s, msg.to, msg.device, msg.data) : this.hub.mailboxPost(s, msg.box, msg.data);
        if (r.ok) this.metrics.delivered++;
        finish(r);
        return;
      }
      case 'mailboxOpen': {
        const r = this.hub.mailboxOpen(s, msg.box, msg.ttlS);
        if (!r.ok) {
          finish(r);
          return;
        }
        conn.send({ type: 'mailboxOpened', box: msg.box, expiresAt: r.expiresAt, ...(msg.rid === undefined ? {} : { rid: msg.rid }) });
        if (r.waiting) conn.send(r.waiting);
        return;
      }
      case 'mailboxClose':
        finish(this.hub.mailboxClose(s, msg.box));
        return;
      case 'poolList':
        finish(this.hub.poolList(s, { name: msg.name, offeredBytes: msg.offeredBytes, balanceBytes: msg.balanceBytes }));
        return;
      case 'poolUnlist':
        finish(this.hub.poolUnlist(s));
        return;
      case 'poolQuery': {
        // A query walks every listing: it shares the small bucket with relays.
        if (!conn.relays.take()) {
          conn.rateLimited(msg.rid);
          return;
        }
        const r = this.hub.poolQuery(s);
        if (!r.ok) {
          finish(r);
          return;
        }
        conn.send({ type: 'pool', peers: r.peers, partners: r.partners, ...(msg.rid === undefined ? {} : { rid: msg.rid }) });
        return;
      }
      case 'poolHello': {
        if (!conn.relays.take()) {
          conn.rateLimited(msg.rid);
          return;
        }
        const r = this.hub.poolHello(s, msg.to, msg.data);
        if (r.ok) this.metrics.delivered++;
        finish(r);
        return;
      }
    }
  }
}
