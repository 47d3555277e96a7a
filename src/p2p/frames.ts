/**
 * The link protocol's frames (version 1): binary, one frame per data-channel message, at most
 * {@link MAX_FRAME_BYTES}. Pure encode/decode; the decoder rejects anything malformed, oversized
 * or of another version with a typed error and never returns a partially valid frame.
 *
 * ```
 * offset size  field
 * 0      1     version (1)
 * 1      1     kind (see FRAME_KINDS)
 * 2      4     stream id, big-endian; 0 for link-level frames (hello, auth, close)
 * 6      ...   body, by kind:
 *   hello     mode u8 (0 pinned, 1 invite) | nonce 32 | public key 32          (65 bytes)
 *   auth      signature 64 | invite MAC 32 (invite mode only)                 (64 or 96 bytes)
 *   request   flags u8 (bit 0: a body stream follows) | message JSON (UTF-8)
 *   response  flags u8 | message JSON
 *   error     JSON {"code": string, "message": string}
 *   cancel    (empty)
 *   data      body bytes (1 .. MAX_DATA_BYTES)
 *   end       (empty)  end of the body stream in the sender's direction
 *   credit    u32 bytes granted to the sender of the stream
 *   close     JSON {"code": string, "message": string}
 * ```
 *
 * Stream ids: the connection's initiator numbers its requests with odd ids, the answerer with
 * even ids, so both can open requests without colliding and every stream frame names whose
 * request it belongs to.
 */
import { utf8Decode, utf8Encode } from '../protocol/encoding.ts';
import { FRAME_HEADER_BYTES, LINK_VERSION, MAX_DATA_BYTES, MAX_FRAME_BYTES } from './constants.ts';
import { MalformedFrameError, OversizedFrameError, UnsupportedVersionError } from './errors.ts';

/** Wire numbers of the frame kinds. */
export const FRAME_KINDS = {
  hello: 1,
  auth: 2,
  request: 3,
  response: 4,
  error: 5,
  cancel: 6,
  data: 7,
  end: 8,
  credit: 9,
  close: 10,
} as const;

/** A JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * An application message carried by a request or response: a JSON object with a string `type`
 * (1–64 characters). Each service defines its own discriminated union over `type` and validates
 * the rest; this layer only guarantees the shape.
 */
export interface LinkMessage {
  type: string;
  [key: string]: JsonValue;
}

/** Identity-binding mode announced in `hello`. */
export type BindingMode = 'pinned' | 'invite';

/** A decoded frame. */
export type Frame =
  | { kind: 'hello'; mode: BindingMode; nonce: Uint8Array; publicKey: Uint8Array }
  | { kind: 'auth'; signature: Uint8Array; mac: Uint8Array | null }
  | { kind: 'request'; id: number; message: LinkMessage; hasBody: boolean }
  | { kind: 'response'; id: number; message: LinkMessage; hasBody: boolean }
  | { kind: 'error'; id: number; code: string; message: string }
  | { kind: 'cancel'; id: number }
  | { kind: 'data'; id: number; bytes: Uint8Array }
  | { kind: 'end'; id: number }
  | { kind: 'credit'; id: number; bytes: number }
  | { kind: 'close'; code: string; message: string };

/** Longest `code` in error and close frames. */
const MAX_CODE_CHARS = 64;
/** Longest human message in error and close frames. */
const MAX_TEXT_CHARS = 1024;

function header(kind: number, id: number, bodyLength: number): Uint8Array {
  const total = FRAME_HEADER_BYTES + bodyLength;
  if (total > MAX_FRAME_BYTES) throw new OversizedFrameError(total, MAX_FRAME_BYTES);
  const out = new Uint8Array(total);
  out[0] = LINK_VERSION;
  out[1] = kind;
  new DataView(out.buffer).setUint32(2, id);
  return out;
}

function withBody(kind: number, id: number, body: Uint8Array): Uint8Array {
  const out = header(kind, id, body.length);
  out.set(body, FRAME_HEADER_BYTES);
  return out;
}

function jsonBody(flags: number | null, value: unknown): Uint8Array {
  const json = utf8Encode(JSON.stringify(value));
  if (flags === null) return json;
  const out = new Uint8Array(json.length + 1);
  out[0] = flags;
  out.set(json, 1);
  return out;
}

/**
 * Encodes a frame. Throws {@link OversizedFrameError} when it would exceed 64 KiB (a message too
 * large for one frame must travel as a body stream instead).
 */
export function encodeFrame(frame: Frame): Uint8Array {
  switch (frame.kind) {
    case 'hello': {
      const body = new Uint8Array(65);
      body[0] = frame.mode === 'invite' ? 1 : 0;
      body.set(frame.nonce, 1);
      body.set(frame.publicKey, 33);
      return withBody(FRAME_KINDS.hello, 0, body);
    }
    case 'auth': {
      const body = new Uint8Array(64 + (frame.mac ? 32 : 0));
      body.set(frame.signature, 0);
      if (frame.mac) body.set(frame.mac, 64);
      return withBody(FRAME_KINDS.auth, 0, body);
    }
    case 'request':
    case 'response':
      return withBody(FRAME_KINDS[frame.kind], frame.id, jsonBody(frame.hasBody ? 1 : 0, frame.message));
    case 'error':
      return withBody(FRAME_KINDS.error, frame.id, jsonBody(null, { code: frame.code, message: frame.message.slice(0, MAX_TEXT_CHARS) }));
    case 'close':
      return withBody(FRAME_KINDS.close, 0, jsonBody(null, { code: frame.code, message: frame.message.slice(0, MAX_TEXT_CHARS) }));
    case 'cancel':
    case 'end':
      return header(FRAME_KINDS[frame.kind], frame.id, 0);
    case 'data':
      return withBody(FRAME_KINDS.data, frame.id, frame.bytes);
    case 'credit': {
      const out = header(FRAME_KINDS.credit, frame.id, 4);
      new DataView(out.buffer).setUint32(FRAME_HEADER_BYTES, frame.bytes);
      return out;
    }
  }
}

/**
 * Encodes a data frame from part of a larger buffer without an intermediate copy of the slice.
 * `length` must be 1..{@link MAX_DATA_BYTES}.
 */
export function encodeDataFrame(id: number, source: Uint8Array, offset: number, length: number): Uint8Array {
  const out = header(FRAME_KINDS.data, id, length);
  out.set(source.subarray(offset, offset + length), FRAME_HEADER_BYTES);
  return out;
}

function malformed(message: string): never {
  throw new MalformedFrameError(message);
}

function parseJson(bytes: Uint8Array): unknown {
  const text = utf8Decode(bytes);
  if (text === null) malformed('body is not valid UTF-8');
  try {
    return JSON.parse(text);
  } catch {
    return malformed('body is not valid JSON');
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks that `v` is a {@link LinkMessage}. Prototype keys are refused outright: a message is
 * data, and a `__proto__` key in it is an attack on whoever spreads it.
 */
export function isLinkMessage(v: unknown): v is LinkMessage {
  if (!isPlainObject(v)) return false;
  const type = Object.hasOwn(v, 'type') ? v.type : undefined;
  if (typeof type !== 'string' || type.length === 0 || type.length > 64) return false;
  return !hasPrototypeKey(v, 0);
}

function hasPrototypeKey(v: unknown, depth: number): boolean {
  if (depth > 64) return true;
  if (Array.isArray(v)) return v.some((x) => hasPrototypeKey(x, depth + 1));
  if (!isPlainObject(v)) return false;
  for (const k of Object.keys(v)) {
    if (k === '__proto__' || k === 'constructor' || k === 'prototype') return true;
    if (hasPrototypeKey(v[k], depth + 1)) return true;
  }
  return false;
}

function codeAndMessage(bytes: Uint8Array): { code: string; message: string } {
  const v = parseJson(bytes);
  if (!isPlainObject(v)) malformed('expected a JSON object');
  const code = Object.hasOwn(v, 'code') ? v.code : undefined;
  const message = Object.hasOwn(v, 'message') ? v.message : undefined;
  if (typeof code !== 'string' || code.length === 0 || code.length > MAX_CODE_CHARS) malformed('code must be a short string');
  if (typeof message !== 'string' || message.length > MAX_TEXT_CHARS) malformed('message must be a string of at most 1024 characters');
  if (Object.keys(v).length !== 2) malformed('unexpected fields');
  return { code, message };
}

/** Reads the stream id of a frame whose header is intact, or `null` (for error replies). */
export function peekStreamId(bytes: Uint8Array): number | null {
  if (bytes.length < FRAME_HEADER_BYTES || bytes[0] !== LINK_VERSION) return null;
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(2);
}

/**
 * Decodes one frame. Throws {@link OversizedFrameError}, {@link UnsupportedVersionError} or
 * {@link MalformedFrameError}; never anything else. The returned `bytes` of a data frame is a
 * view into `input` (no copy).
 */
export function decodeFrame(input: Uint8Array): Frame {
  if (input.length > MAX_FRAME_BYTES) throw new OversizedFrameError(input.length, MAX_FRAME_BYTES);
  if (input.length < FRAME_HEADER_BYTES) malformed(`frame of ${input.length} bytes is shorter than its header`);
  const version = input[0]!;
  if (version !== LINK_VERSION) throw new UnsupportedVersionError(version);
  const kind = input[1]!;
  const id = new DataView(input.buffer, input.byteOffset, input.byteLength).getUint32(2);
  const body = input.subarray(FRAME_HEADER_BYTES);
  const linkLevel = kind === FRAME_KINDS.hello || kind === FRAME_KINDS.auth || kind === FRAME_KINDS.close;
  if (linkLevel && id !== 0) malformed('link-level frames carry stream id 0');
  if (!linkLevel && id === 0) malformed('stream frames need a non-zero stream id');
  switch (kind) {
    case FRAME_KINDS.hello: {
      if (body.length !== 65) malformed('hello body must be 65 bytes');
      const mode = body[0];
      if (mode !== 0 && mode !== 1) malformed('unknown binding mode');
      return { kind: 'hello', mode: mode === 1 ? 'invite' : 'pinned', nonce: body.slice(1, 33), publicKey: body.slice(33, 65) };
    }
    case FRAME_KINDS.auth:
      if (body.length !== 64 && body.length !== 96) malformed('auth body must be 64 or 96 bytes');
      return { kind: 'auth', signature: body.slice(0, 64), mac: body.length === 96 ? body.slice(64) : null };
    case FRAME_KINDS.request:
    case FRAME_KINDS.response: {
      if (body.length < 1) malformed('missing flags');
      const flags = body[0]!;
      if ((flags & ~1) !== 0) malformed('unknown flags');
      const message = parseJson(body.subarray(1));
      if (!isLinkMessage(message)) malformed('message must be a JSON object with a string "type" and no prototype keys');
      return { kind: kind === FRAME_KINDS.request ? 'request' : 'response', id, message, hasBody: flags === 1 };
    }
    case FRAME_KINDS.error:
      return { kind: 'error', id, ...codeAndMessage(body) };
    case FRAME_KINDS.close:
      return { kind: 'close', ...codeAndMessage(body) };
    case FRAME_KINDS.cancel:
    case FRAME_KINDS.end:
      if (body.length !== 0) malformed('cancel and end frames have no body');
      return { kind: kind === FRAME_KINDS.cancel ? 'cancel' : 'end', id };
    case FRAME_KINDS.data:
      if (body.length === 0 || body.length > MAX_DATA_BYTES) malformed('data frames carry 1 to 65530 bytes');
      return { kind: 'data', id, bytes: body };
    case FRAME_KINDS.credit: {
      if (body.length !== 4) malformed('credit body must be 4 bytes');
      const bytes = new DataView(body.buffer, body.byteOffset, 4).getUint32(0);
      if (bytes === 0) malformed('credit must be positive');
      return { kind: 'credit', id, bytes };
    }
    default:
      return malformed(`unknown frame kind ${kind}`);
  }
}
