/**
 * The signaling protocol (version 1): every message exchanged on `/ws` between a Backpact client
 * and the signaling server, defined once and imported by both. Messages are JSON text frames with
 * a `type` discriminant. The decoders here are pure and total: any input gives either a
 * well-typed message built field by field (never the parsed object itself, so prototype keys such
 * as `__proto__` can't leak through) or a typed failure. See docs/DESIGN.md §5.
 */
import { base64UrlLength, isBase64UrlOfLength, isBase64UrlShape } from './encoding.ts';

/** Protocol version spoken by this code. Bumped on any incompatible change. */
export const SIGNALING_VERSION = 1;

/** Versions this code accepts, newest last. */
export const SUPPORTED_SIGNALING_VERSIONS: readonly number[] = [1];

/**
 * A peer's address on the signaling server: canonical base64url of its 32-byte Ed25519 identity
 * public key (43 characters). The id *is* the key, so the server and peers check signatures by it
 * without a lookup. (The user-facing `PeerId` of `src/core` is a tagged hash of the same key.)
 */
export type SignalingId = string & { readonly __brand: 'SignalingId' };

/**
 * One running instance of the app (a page or service worker) of some identity: 16 random bytes
 * in base64url (22 characters), chosen by the client for the life of that instance, so that a
 * signaling reconnect keeps its address and several devices of one identity stay apart.
 */
export type DeviceId = string & { readonly __brand: 'DeviceId' };

/** Address of an invite mailbox: base64url of a 32-byte hash of the invite id (43 characters). */
export type MailboxId = string & { readonly __brand: 'MailboxId' };

/** Where a message goes or comes from: an identity and one of its running instances. */
export interface PeerAddress {
  id: SignalingId;
  device: DeviceId;
}

/** An ICE server as given to `RTCPeerConnection` (the subset the server hands out). */
export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

/** Sizes fixed by protocol version 1. Both sides enforce them. */
export const SIGNALING_LIMITS = {
  /** Ed25519 public key bytes (the id). */
  publicKeyBytes: 32,
  /** Ed25519 signature bytes. */
  signatureBytes: 64,
  /** Server nonce bytes in `challenge`: 256 bits, never repeats. */
  nonceBytes: 32,
  /** Device id bytes. */
  deviceBytes: 16,
  /** Mailbox id bytes (a SHA-256 output). */
  mailboxIdBytes: 32,
  /** Longest opaque `signal` payload, in characters. An SDP with one data channel is ~1–3 KB. */
  signalChars: 16 * 1024,
  /** Largest relayed message, in bytes before base64url (the brief's "at most 16 KiB"). */
  relayBytes: 16 * 1024,
  /** Largest invite mailbox message, in bytes before base64url. */
  mailboxMessageBytes: 16 * 1024,
  /** Most ids in one `subscribe` / `unsubscribe`, so one message has bounded cost. */
  idsPerMessage: 256,
  /** Request ids are unsigned 32-bit integers chosen by the client. */
  maxRid: 0xffff_ffff,
  /** Largest open-pool introduction (`poolHello` data), in bytes before base64url. */
  poolHelloBytes: 4 * 1024,
  /** Longest display name in an open-pool listing, in characters (as in agreements). */
  poolNameChars: 64,
  /** Largest byte count in a listing (offered capacity, |balance|): 10^15, a petabyte. */
  poolMaxBytes: 1_000_000_000_000_000,
  /** Most listed peers in one `pool` answer (a random sample when more are listed). */
  poolPeersPerAnswer: 100,
  /** Bytes of a network token (8 base64url characters). */
  networkTokenBytes: 6,
} as const;

/** Error codes the server sends in `error` messages. */
export type SignalingErrorCode =
  /** The frame was not JSON. */
  | 'bad-json'
  /** JSON, but not a valid message (missing or wrong field, unknown key, out-of-range value). */
  | 'bad-message'
  /** The `type` is not one this version knows. */
  | 'unknown-type'
  /** The client asked for a protocol version the server does not speak. */
  | 'unsupported-version'
  /** Anything but `auth` before authentication; the socket is closed. */
  | 'unauthenticated'
  /** The signature did not verify; the socket is closed. */
  | 'auth-failed'
  /** Too many messages: this one was dropped. */
  | 'rate-limited'
  /**
   * No online, mutually subscribed recipient. The same code covers "offline" and "not
   * subscribed to you" so a sender learns nothing about peers that did not subscribe to it.
   */
  | 'unreachable'
  /** The recipient's socket is not keeping up; the message was dropped. */
  | 'recipient-busy'
  /** The socket already subscribes to the maximum number of ids. */
  | 'too-many-subscriptions'
  /** No open mailbox at that address (never opened, expired, already used, or closed). */
  | 'mailbox-not-found'
  /** A mailbox at that address belongs to another identity. */
  | 'mailbox-taken'
  /** This identity (or the server) has too many open mailboxes. */
  | 'mailbox-limit'
  /** Only a peer listed in the open pool may query it or introduce itself to a listed peer. */
  | 'not-listed'
  /** The server failed; the message may be retried. */
  | 'internal';

/** WebSocket close codes used by the server, with their meaning. */
export const CLOSE_CODES = {
  /** Server shutting down (standard "going away"). */
  goingAway: 1001,
  /** Binary frame received; the protocol is JSON text only (standard "unsupported data"). */
  unsupportedData: 1003,
  /** Sustained rate-limit violation (standard "policy violation"). */
  policy: 1008,
  /** Frame above `maxPayload` (standard "message too big", sent by `ws` itself). */
  tooBig: 1009,
  /** Not authenticated: a message other than `auth` first, or a bad signature. */
  unauthenticated: 4401,
  /** No valid `auth` within the server's time limit. */
  authTimeout: 4408,
  /** A newer socket authenticated with the same id and device. */
  replaced: 4409,
} as const;

// ----------------------------------------------------------------------------------------------
// Messages from client to server

/** First message on a socket: proves possession of the key whose id is `id`. */
export interface AuthMessage {
  type: 'auth';
  /** Protocol version the client speaks; must be one the server listed in `challenge`. */
  v: number;
  id: SignalingId;
  device: DeviceId;
  /** base64url Ed25519 signature over `authTranscript` (see `auth.ts`). */
  sig: string;
  rid?: number;
}

/** Adds ids to this socket's subscriptions (presence is reported only for mutual ones). */
export interface SubscribeMessage {
  type: 'subscribe';
  ids: SignalingId[];
  rid?: number;
}

/** Removes ids from this socket's subscriptions. */
export interface UnsubscribeMessage {
  type: 'unsubscribe';
  ids: SignalingId[];
  rid?: number;
}

/** Asks which online instances subscribe to this socket's id (answered by `subscribers`). */
export interface SubscribersQuery {
  type: 'subscribers';
  rid?: number;
}

/** A WebRTC signal for one instance of a mutually subscribed peer. `data` is opaque. */
export interface SignalMessage {
  type: 'signal';
  to: PeerAddress;
  data: string;
  rid?: number;
}

/**
 * A small end-to-end signed message (base64url, ≤ 16 KiB decoded) for every mutually subscribed
 * instance of `to`, or only `device` when given. The server forwards it without reading it.
 */
export interface RelayMessage {
  type: 'relay';
  to: SignalingId;
  device?: DeviceId;
  data: string;
  rid?: number;
}

/** Opens (or re-attaches to) a one-time invite mailbox owned by this identity. */
export interface MailboxOpenMessage {
  type: 'mailboxOpen';
  box: MailboxId;
  /** Lifetime in seconds; the server clamps it to its maximum (72 h by default). */
  ttlS?: number;
  rid?: number;
}

/** Posts the one message a mailbox accepts (base64url, ≤ 16 KiB decoded). */
export interface MailboxPostMessage {
  type: 'mailboxPost';
  box: MailboxId;
  data: string;
  rid?: number;
}

/** Deletes a mailbox this identity owns. */
export interface MailboxCloseMessage {
  type: 'mailboxClose';
  box: MailboxId;
  rid?: number;
}

/**
 * Lists this identity in the open pool (or updates its listing). The listing lives while the
 * socket that sent it is open; the client re-sends it after every reconnect.
 */
export interface PoolListMessage {
  type: 'poolList';
  /** Bytes this peer offers to hold for strangers (0 to {@link SIGNALING_LIMITS.poolMaxBytes}). */
  offeredBytes: number;
  /** Self-reported reciprocity balance: bytes held for others minus bytes others hold for it. */
  balanceBytes: number;
  /** Display name, 1–64 printable characters. */
  name: string;
  rid?: number;
}

/** Removes this identity's open-pool listing. */
export interface PoolUnlistMessage {
  type: 'poolUnlist';
  rid?: number;
}

/** Asks for the listed peers (answered by `pool`). Only a listed peer may ask. */
export interface PoolQueryMessage {
  type: 'poolQuery';
  rid?: number;
}

/**
 * An introduction (base64url, ≤ 4 KiB decoded, end-to-end signed by the sender) for the listed
 * peer `to`. This is how a stranger is first contacted, without a mutual subscription.
 */
export interface PoolHelloMessage {
  type: 'poolHello';
  to: SignalingId;
  data: string;
  rid?: number;
}

/** Any message a client may send. */
export type ClientMessage =
  | AuthMessage
  | SubscribeMessage
  | UnsubscribeMessage
  | SubscribersQuery
  | SignalMessage
  | RelayMessage
  | MailboxOpenMessage
  | MailboxPostMessage
  | MailboxCloseMessage
  | PoolListMessage
  | PoolUnlistMessage
  | PoolQueryMessage
  | PoolHelloMessage;

// ----------------------------------------------------------------------------------------------
// Messages from server to client

/** First message on every socket. */
export interface ChallengeMessage {
  type: 'challenge';
  /** The server's preferred version. */
  v: number;
  /** Every version the server accepts. */
  versions: number[];
  /** base64url of {@link SIGNALING_LIMITS.nonceBytes} fresh random bytes. */
  nonce: string;
}

/** Limits the server enforces, announced so clients can stay under them. */
export interface ServerLimits {
  relayBytes: number;
  mailboxBytes: number;
  /** Longest mailbox lifetime, seconds. */
  mailboxTtlS: number;
  /** Sustained messages per second per socket. */
  messagesPerS: number;
  /** Sustained relay and mailbox posts per second per socket. */
  relaysPerS: number;
  maxSubscriptions: number;
}

/** Authentication succeeded. */
export interface WelcomeMessage {
  type: 'welcome';
  v: number;
  id: SignalingId;
  device: DeviceId;
  iceServers: IceServer[];
  limits: ServerLimits;
  rid?: number;
}

/** A request carrying a `rid` succeeded and has no other answer. */
export interface AckMessage {
  type: 'ack';
  rid: number;
}

/** A request failed. `rid` is echoed when the request carried a readable one. */
export interface ErrorMessage {
  type: 'error';
  code: SignalingErrorCode;
  message: string;
  rid?: number;
}

/** A mutually subscribed instance came online (`online: true`) or left. */
export interface PresenceMessage {
  type: 'presence';
  peer: PeerAddress;
  online: boolean;
}

/** Answer to {@link SubscribersQuery}: online instances subscribed to the asker's id. */
export interface SubscribersMessage {
  type: 'subscribers';
  peers: PeerAddress[];
  rid?: number;
}

/** A WebRTC signal from a mutually subscribed instance. */
export interface IncomingSignalMessage {
  type: 'signal';
  from: PeerAddress;
  data: string;
}

/** A relayed message; the recipient must verify its signature before trusting it. */
export interface IncomingRelayMessage {
  type: 'relay';
  from: PeerAddress;
  data: string;
}

/** Answer to {@link MailboxOpenMessage}. */
export interface MailboxOpenedMessage {
  type: 'mailboxOpened';
  box: MailboxId;
  /** Expiry, milliseconds since the Unix epoch (server clock). */
  expiresAt: number;
  rid?: number;
}

/** The message posted to one of this identity's mailboxes; the mailbox is gone afterwards. */
export interface MailboxDeliveryMessage {
  type: 'mailbox';
  box: MailboxId;
  from: PeerAddress;
  data: string;
}

/** One listed peer as the server reports it. */
export interface PoolPeer {
  id: SignalingId;
  name: string;
  offeredBytes: number;
  balanceBytes: number;
  /**
   * Fraction (0–1) of the observed part of the last 7 days during which the server saw this
   * identity online: observed = min(7 days, now − the first time this server saw the identity).
   */
  uptime7d: number;
  /** Keyed hash of the peer's /24 (IPv4) or /48 (IPv6) network: equal tokens ≈ same network. */
  networkToken: string;
}

/** The network token of one online device of a mutually subscribed peer (a partner). */
export interface PoolPartnerToken {
  id: SignalingId;
  networkToken: string;
}

/** Answer to {@link PoolQueryMessage}. */
export interface PoolAnswerMessage {
  type: 'pool';
  /** Listed peers other than the asker (a random sample of at most 100). */
  peers: PoolPeer[];
  /**
   * Network tokens of the online sessions mutually subscribed with the asker (its partners), so
   * it can place new partners on other networks. Partners already see each other's addresses in
   * ICE candidates, so this reveals nothing new.
   */
  partners: PoolPartnerToken[];
  rid?: number;
}

/** An introduction from a stranger (verify its signature before trusting it). */
export interface IncomingPoolHelloMessage {
  type: 'poolHello';
  from: PeerAddress;
  data: string;
}

/** Any message the server may send. */
export type ServerMessage =
  | ChallengeMessage
  | WelcomeMessage
  | AckMessage
  | ErrorMessage
  | PresenceMessage
  | SubscribersMessage
  | IncomingSignalMessage
  | IncomingRelayMessage
  | MailboxOpenedMessage
  | MailboxDeliveryMessage
  | PoolAnswerMessage
  | IncomingPoolHelloMessage;

// ----------------------------------------------------------------------------------------------
// Decoding

/** Why a frame was refused by a decoder. */
export interface DecodeFailure {
  ok: false;
  code: 'bad-json' | 'bad-message' | 'unknown-type';
  /** Human-readable reason; never contains the offending payload. */
  message: string;
  /** The frame's `rid` when it had a valid one, so the error can be matched to the request. */
  rid?: number;
}

/** Result of decoding one frame. */
export type DecodeResult<T> = { ok: true; value: T } | DecodeFailure;

type Json = Record<string, unknown>;

class Invalid extends Error {}

function fail(message: string): never {
  throw new Invalid(message);
}

function parseObject(text: string): { json: Json } | DecodeFailure {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: 'bad-json', message: 'frame is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'bad-message', message: 'message must be a JSON object' };
  }
  return { json: value as Json };
}

function readRid(obj: Json): number | undefined {
  const rid = Object.hasOwn(obj, 'rid') ? obj.rid : undefined;
  return isRid(rid) ? rid : undefined;
}

function isRid(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= SIGNALING_LIMITS.maxRid;
}

/** Only `allowed` keys may be present: unknown keys (including `__proto__`) are refused. */
function onlyKeys(obj: Json, allowed: readonly string[]): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) fail(`unexpected field "${k.slice(0, 32)}"`);
}

function field(obj: Json, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

function optRid(obj: Json): { rid?: number } {
  const rid = field(obj, 'rid');
  if (rid === undefined) return {};
  if (!isRid(rid)) fail('rid must be an integer from 0 to 2^32-1');
  return { rid };
}

function peerId(v: unknown, name: string): SignalingId {
  if (!isSignalingId(v)) fail(`${name} must be a signaling id (base64url of a 32-byte key)`);
  return v;
}

function deviceId(v: unknown, name: string): DeviceId {
  if (!isDeviceId(v)) fail(`${name} must be a device id (base64url of 16 bytes)`);
  return v;
}

function mailboxId(v: unknown): MailboxId {
  if (!isBase64UrlOfLength(v, SIGNALING_LIMITS.mailboxIdBytes)) fail('box must be base64url of 32 bytes');
  return v as MailboxId;
}

function address(v: unknown, name: string): PeerAddress {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${name} must be an object`);
  const o = v as Json;
  onlyKeys(o, ['id', 'device']);
  return { id: peerId(field(o, 'id'), `${name}.id`), device: deviceId(field(o, 'device'), `${name}.device`) };
}

function idList(v: unknown): SignalingId[] {
  if (!Array.isArray(v)) fail('ids must be an array');
  if (v.length > SIGNALING_LIMITS.idsPerMessage) fail(`at most ${SIGNALING_LIMITS.idsPerMessage} ids per message`);
  return v.map((x) => peerId(x, 'ids[]'));
}

function opaqueBytes(v: unknown, maxBytes: number, name: string): string {
  if (!isBase64UrlShape(v, maxBytes)) fail(`${name} must be base64url of at most ${maxBytes} bytes`);
  return v;
}

function smallInt(v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(`${name} must be an integer from ${min} to ${max}`);
  return v;
}

/** A display name: 1–64 characters, no control characters (they could spoof the UI). */
function poolName(v: unknown): string {
  if (typeof v !== 'string' || v.length < 1 || v.length > SIGNALING_LIMITS.poolNameChars || [...v].some((c) => c.charCodeAt(0) < 0x20 || c === '\u007f')) {
    fail(`name must be 1 to ${SIGNALING_LIMITS.poolNameChars} printable characters`);
  }
  return v;
}

function byteCount(v: unknown, name: string, signed: boolean): number {
  const max = SIGNALING_LIMITS.poolMaxBytes;
  return smallInt(v, name, signed ? -max : 0, max);
}

function networkToken(v: unknown, name: string): string {
  if (!isBase64UrlOfLength(v, SIGNALING_LIMITS.networkTokenBytes)) fail(`${name} must be a network token`);
  return v;
}

/** True when `v` is a well-formed {@link SignalingId}. */
export function isSignalingId(v: unknown): v is SignalingId {
  return isBase64UrlOfLength(v, SIGNALING_LIMITS.publicKeyBytes);
}

/** True when `v` is a well-formed {@link DeviceId}. */
export function isDeviceId(v: unknown): v is DeviceId {
  return isBase64UrlOfLength(v, SIGNALING_LIMITS.deviceBytes);
}

/** True when `v` is a well-formed {@link MailboxId}. */
export function isMailboxId(v: unknown): v is MailboxId {
  return isBase64UrlOfLength(v, SIGNALING_LIMITS.mailboxIdBytes);
}

function decodeClientObject(obj: Json): ClientMessage {
  const type = field(obj, 'type');
  switch (type) {
    case 'auth':
      onlyKeys(obj, ['type', 'v', 'id', 'device', 'sig', 'rid']);
      if (!isBase64UrlOfLength(field(obj, 'sig'), SIGNALING_LIMITS.signatureBytes)) fail('sig must be base64url of 64 bytes');
      return {
        type,
        v: smallInt(field(obj, 'v'), 'v', 1, 0xffff),
        id: peerId(field(obj, 'id'), 'id'),
        device: deviceId(field(obj, 'device'), 'device'),
        sig: field(obj, 'sig') as string,
        ...optRid(obj),
      };
    case 'subscribe':
    case 'unsubscribe':
      onlyKeys(obj, ['type', 'ids', 'rid']);
      return { type, ids: idList(field(obj, 'ids')), ...optRid(obj) };
    case 'subscribers':
      onlyKeys(obj, ['type', 'rid']);
      return { type, ...optRid(obj) };
    case 'signal': {
      onlyKeys(obj, ['type', 'to', 'data', 'rid']);
      const data = field(obj, 'data');
      if (typeof data !== 'string' || data.length > SIGNALING_LIMITS.signalChars) {
        fail(`data must be a string of at most ${SIGNALING_LIMITS.signalChars} characters`);
      }
      return { type, to: address(field(obj, 'to'), 'to'), data, ...optRid(obj) };
    }
    case 'relay': {
      onlyKeys(obj, ['type', 'to', 'device', 'data', 'rid']);
      const device = field(obj, 'device');
      return {
        type,
        to: peerId(field(obj, 'to'), 'to'),
        ...(device === undefined ? {} : { device: deviceId(device, 'device') }),
        data: opaqueBytes(field(obj, 'data'), SIGNALING_LIMITS.relayBytes, 'data'),
        ...optRid(obj),
      };
    }
    case 'mailboxOpen': {
      onlyKeys(obj, ['type', 'box', 'ttlS', 'rid']);
      const ttl = field(obj, 'ttlS');
      return {
        type,
        box: mailboxId(field(obj, 'box')),
        ...(ttl === undefined ? {} : { ttlS: smallInt(ttl, 'ttlS', 1, 10 * 365 * 86_400) }),
        ...optRid(obj),
      };
    }
    case 'mailboxPost':
      onlyKeys(obj, ['type', 'box', 'data', 'rid']);
      return {
        type,
        box: mailboxId(field(obj, 'box')),
        data: opaqueBytes(field(obj, 'data'), SIGNALING_LIMITS.mailboxMessageBytes, 'data'),
        ...optRid(obj),
      };
    case 'mailboxClose':
      onlyKeys(obj, ['type', 'box', 'rid']);
      return { type, box: mailboxId(field(obj, 'box')), ...optRid(obj) };
    case 'poolList':
      onlyKeys(obj, ['type', 'offeredBytes', 'balanceBytes', 'name', 'rid']);
      return {
        type,
        offeredBytes: byteCount(field(obj, 'offeredBytes'), 'offeredBytes', false),
        balanceBytes: byteCount(field(obj, 'balanceBytes'), 'balanceBytes', true),
        name: poolName(field(obj, 'name')),
        ...optRid(obj),
      };
    case 'poolUnlist':
    case 'poolQuery':
      onlyKeys(obj, ['type', 'rid']);
      return { type, ...optRid(obj) };
    case 'poolHello':
      onlyKeys(obj, ['type', 'to', 'data', 'rid']);
      return {
        type,
        to: peerId(field(obj, 'to'), 'to'),
        data: opaqueBytes(field(obj, 'data'), SIGNALING_LIMITS.poolHelloBytes, 'data'),
        ...optRid(obj),
      };
    default:
      throw new UnknownType();
  }
}

class UnknownType extends Error {}

function runDecoder<T>(text: string, decode: (obj: Json) => T): DecodeResult<T> {
  const parsed = parseObject(text);
  if (!('json' in parsed)) return parsed;
  const json = parsed.json;
  const rid = readRid(json);
  const withRid = rid === undefined ? {} : { rid };
  try {
    return { ok: true, value: decode(json) };
  } catch (err) {
    if (err instanceof UnknownType) {
      return { ok: false, code: 'unknown-type', message: 'unknown message type', ...withRid };
    }
    if (err instanceof Invalid) return { ok: false, code: 'bad-message', message: err.message, ...withRid };
    throw err;
  }
}

/**
 * Decodes a text frame sent by a client. Never throws: malformed input gives a
 * {@link DecodeFailure} whose message is safe to send back (it never echoes the payload).
 */
export function decodeClientMessage(text: string): DecodeResult<ClientMessage> {
  return runDecoder(text, decodeClientObject);
}

const ERROR_CODES: ReadonlySet<string> = new Set<SignalingErrorCode>([
  'bad-json', 'bad-message', 'unknown-type', 'unsupported-version', 'unauthenticated', 'auth-failed',
  'rate-limited', 'unreachable', 'recipient-busy', 'too-many-subscriptions', 'mailbox-not-found',
  'mailbox-taken', 'mailbox-limit', 'not-listed', 'internal',
]);

function shortString(v: unknown, name: string, max: number): string {
  if (typeof v !== 'string' || v.length > max) fail(`${name} must be a string of at most ${max} characters`);
  return v;
}

function iceServers(v: unknown): IceServer[] {
  if (!Array.isArray(v) || v.length > 16) fail('iceServers must be an array of at most 16 entries');
  return v.map((s): IceServer => {
    if (typeof s !== 'object' || s === null || Array.isArray(s)) fail('iceServers[] must be objects');
    const o = s as Json;
    onlyKeys(o, ['urls', 'username', 'credential']);
    const urls = field(o, 'urls');
    if (!Array.isArray(urls) || urls.length === 0 || urls.length > 16) fail('iceServers[].urls must be a non-empty array');
    const server: IceServer = { urls: urls.map((u) => shortString(u, 'urls[]', 512)) };
    const username = field(o, 'username');
    const credential = field(o, 'credential');
    if (username !== undefined) server.username = shortString(username, 'username', 512);
    if (credential !== undefined) server.credential = shortString(credential, 'credential', 512);
    return server;
  });
}

function limits(v: unknown): ServerLimits {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('limits must be an object');
  const o = v as Json;
  onlyKeys(o, ['relayBytes', 'mailboxBytes', 'mailboxTtlS', 'messagesPerS', 'relaysPerS', 'maxSubscriptions']);
  const n = (k: string): number => smallInt(field(o, k), k, 0, Number.MAX_SAFE_INTEGER);
  return {
    relayBytes: n('relayBytes'),
    mailboxBytes: n('mailboxBytes'),
    mailboxTtlS: n('mailboxTtlS'),
    messagesPerS: n('messagesPerS'),
    relaysPerS: n('relaysPerS'),
    maxSubscriptions: n('maxSubscriptions'),
  };
}

function poolPeer(v: unknown): PoolPeer {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('peers[] must be objects');
  const o = v as Json;
  onlyKeys(o, ['id', 'name', 'offeredBytes', 'balanceBytes', 'uptime7d', 'networkToken']);
  const uptime = field(o, 'uptime7d');
  if (typeof uptime !== 'number' || !(uptime >= 0 && uptime <= 1)) fail('uptime7d must be a number from 0 to 1');
  return {
    id: peerId(field(o, 'id'), 'peers[].id'),
    name: poolName(field(o, 'name')),
    offeredBytes: byteCount(field(o, 'offeredBytes'), 'offeredBytes', false),
    balanceBytes: byteCount(field(o, 'balanceBytes'), 'balanceBytes', true),
    uptime7d: uptime,
    networkToken: networkToken(field(o, 'networkToken'), 'networkToken'),
  };
}

function partnerToken(v: unknown): PoolPartnerToken {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('partners[] must be objects');
  const o = v as Json;
  onlyKeys(o, ['id', 'networkToken']);
  return { id: peerId(field(o, 'id'), 'partners[].id'), networkToken: networkToken(field(o, 'networkToken'), 'networkToken') };
}

function decodeServerObject(obj: Json): ServerMessage {
  const type = field(obj, 'type');
  switch (type) {
    case 'challenge': {
      onlyKeys(obj, ['type', 'v', 'versions', 'nonce']);
      const versions = field(obj, 'versions');
      if (!Array.isArray(versions) || versions.length === 0 || versions.length > 16) fail('versions must be a non-empty array');
      if (!isBase64UrlOfLength(field(obj, 'nonce'), SIGNALING_LIMITS.nonceBytes)) fail('nonce must be base64url of 32 bytes');
      return {
        type,
        v: smallInt(field(obj, 'v'), 'v', 1, 0xffff),
        versions: versions.map((x) => smallInt(x, 'versions[]', 1, 0xffff)),
        nonce: field(obj, 'nonce') as string,
      };
    }
    case 'welcome':
      onlyKeys(obj, ['type', 'v', 'id', 'device', 'iceServers', 'limits', 'rid']);
      return {
        type,
        v: smallInt(field(obj, 'v'), 'v', 1, 0xffff),
        id: peerId(field(obj, 'id'), 'id'),
        device: deviceId(field(obj, 'device'), 'device'),
        iceServers: iceServers(field(obj, 'iceServers')),
        limits: limits(field(obj, 'limits')),
        ...optRid(obj),
      };
    case 'ack': {
      onlyKeys(obj, ['type', 'rid']);
      const rid = field(obj, 'rid');
      if (!isRid(rid)) fail('rid must be an integer from 0 to 2^32-1');
      return { type, rid };
    }
    case 'error': {
      onlyKeys(obj, ['type', 'code', 'message', 'rid']);
      const code = field(obj, 'code');
      if (typeof code !== 'string' || !ERROR_CODES.has(code)) fail('unknown error code');
      return { type, code: code as SignalingErrorCode, message: shortString(field(obj, 'message'), 'message', 1024), ...optRid(obj) };
    }
    case 'presence': {
      onlyKeys(obj, ['type', 'peer', 'online']);
      const online = field(obj, 'online');
      if (typeof online !== 'boolean') fail('online must be a boolean');
      return { type, peer: address(field(obj, 'peer'), 'peer'), online };
    }
    case 'subscribers': {
      onlyKeys(obj, ['type', 'peers', 'rid']);
      const peers = field(obj, 'peers');
      if (!Array.isArray(peers) || peers.length > 10_000) fail('peers must be an array');
      return { type, peers: peers.map((p) => address(p, 'peers[]')), ...optRid(obj) };
    }
    case 'signal': {
      onlyKeys(obj, ['type', 'from', 'data']);
      return { type, from: address(field(obj, 'from'), 'from'), data: shortString(field(obj, 'data'), 'data', SIGNALING_LIMITS.signalChars) };
    }
    case 'relay':
      onlyKeys(obj, ['type', 'from', 'data']);
      return { type, from: address(field(obj, 'from'), 'from'), data: opaqueBytes(field(obj, 'data'), SIGNALING_LIMITS.relayBytes, 'data') };
    case 'mailboxOpened':
      onlyKeys(obj, ['type', 'box', 'expiresAt', 'rid']);
      return { type, box: mailboxId(field(obj, 'box')), expiresAt: smallInt(field(obj, 'expiresAt'), 'expiresAt', 0, Number.MAX_SAFE_INTEGER), ...optRid(obj) };
    case 'mailbox':
      onlyKeys(obj, ['type', 'box', 'from', 'data']);
      return {
        type,
        box: mailboxId(field(obj, 'box')),
        from: address(field(obj, 'from'), 'from'),
        data: opaqueBytes(field(obj, 'data'), SIGNALING_LIMITS.mailboxMessageBytes, 'data'),
      };
    case 'pool': {
      onlyKeys(obj, ['type', 'peers', 'partners', 'rid']);
      const peers = field(obj, 'peers');
      const partners = field(obj, 'partners');
      if (!Array.isArray(peers) || peers.length > SIGNALING_LIMITS.poolPeersPerAnswer) fail(`peers must be an array of at most ${SIGNALING_LIMITS.poolPeersPerAnswer}`);
      if (!Array.isArray(partners) || partners.length > 10_000) fail('partners must be an array');
      return { type, peers: peers.map(poolPeer), partners: partners.map(partnerToken), ...optRid(obj) };
    }
    case 'poolHello':
      onlyKeys(obj, ['type', 'from', 'data']);
      return { type, from: address(field(obj, 'from'), 'from'), data: opaqueBytes(field(obj, 'data'), SIGNALING_LIMITS.poolHelloBytes, 'data') };
    default:
      throw new UnknownType();
  }
}

/** Decodes a text frame sent by the server. Never throws. */
export function decodeServerMessage(text: string): DecodeResult<ServerMessage> {
  return runDecoder(text, decodeServerObject);
}

/** Characters of base64url that carry {@link SIGNALING_LIMITS.relayBytes} bytes. */
export const RELAY_MAX_CHARS = base64UrlLength(SIGNALING_LIMITS.relayBytes);
