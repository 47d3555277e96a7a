/**
 * Byte encodings shared by the signaling server and the client: canonical unpadded base64url
 * (RFC 4648 §5) and strict UTF-8. Pure TypeScript: runs unchanged in Node, browsers and workers.
 *
 * Base64url is *canonical*: a string decodes only if re-encoding the bytes gives the same string
 * (no padding, no unused bits set). Ids are compared as strings, so two spellings of one key must
 * never both be accepted — that would let one identity hold two ids.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** Number of base64url characters (unpadded) that encode `byteLength` bytes. */
export function base64UrlLength(byteLength: number): number {
  return Math.ceil((byteLength * 4) / 3);
}

/** Largest number of bytes that a base64url string of `chars` characters can hold. */
export function base64UrlMaxBytes(chars: number): number {
  return Math.floor((chars * 3) / 4);
}

/** Encodes bytes as unpadded base64url. */
export function toBase64Url(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]!;
  }
  return out;
}

/**
 * Decodes canonical unpadded base64url; returns `null` for any other input (padding, `+`/`/`,
 * whitespace, an impossible length, or non-zero unused bits in the last character).
 */
export function fromBase64Url(text: string): Uint8Array | null {
  const len = text.length;
  if (len % 4 === 1) return null;
  const out = new Uint8Array(base64UrlMaxBytes(len));
  let o = 0;
  let i = 0;
  for (; i + 3 < len; i += 4) {
    const a = sextet(text, i);
    const b = sextet(text, i + 1);
    const c = sextet(text, i + 2);
    const d = sextet(text, i + 3);
    if ((a | b | c | d) < 0) return null;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >>> 16;
    out[o++] = (n >>> 8) & 255;
    out[o++] = n & 255;
  }
  const rest = len - i;
  if (rest === 2) {
    const a = sextet(text, i);
    const b = sextet(text, i + 1);
    if ((a | b) < 0 || (b & 15) !== 0) return null;
    out[o++] = (a << 2) | (b >>> 4);
  } else if (rest === 3) {
    const a = sextet(text, i);
    const b = sextet(text, i + 1);
    const c = sextet(text, i + 2);
    if ((a | b | c) < 0 || (c & 3) !== 0) return null;
    out[o++] = (a << 2) | (b >>> 4);
    out[o++] = ((b & 15) << 4) | (c >>> 2);
  }
  return out;
}

function sextet(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return c < 128 ? DECODE[c]! : -1;
}

/**
 * True when `text` is canonical base64url of exactly `byteLength` bytes. Cheaper than decoding
 * when only the shape matters (the server checks ids and mailbox addresses this way).
 */
export function isBase64UrlOfLength(text: unknown, byteLength: number): text is string {
  if (typeof text !== 'string' || text.length !== base64UrlLength(byteLength)) return false;
  // No decoding (the server checks several ids per message): alphabet, then the unused low
  // bits of the last character must be zero for the spelling to be canonical.
  let last = 0;
  for (let i = 0; i < text.length; i++) {
    last = sextet(text, i);
    if (last < 0) return false;
  }
  const unusedBits = (text.length * 6) % 8;
  return (last & ((1 << unusedBits) - 1)) === 0;
}

const BASE64URL_CHARS = /^[A-Za-z0-9_-]*$/;

/**
 * True when `text` is base64url (alphabet and length shape only) of at most `maxBytes` bytes.
 * Used for opaque payloads the server forwards without decoding; the recipient decodes strictly.
 */
export function isBase64UrlShape(text: unknown, maxBytes: number): text is string {
  return typeof text === 'string' && text.length <= base64UrlLength(maxBytes) && text.length % 4 !== 1 && BASE64URL_CHARS.test(text);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Encodes a string as UTF-8. */
export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Decodes UTF-8 strictly; returns `null` on an invalid sequence instead of inserting U+FFFD. */
export function utf8Decode(bytes: Uint8Array): string | null {
  try {
    return decoder.decode(bytes);
  } catch {
    return null;
  }
}

// One implementation of these lives in core; the protocol layer (shared with the server) reuses it.
export { bytesEqual, concatBytes } from '../core/encoding/bytes.ts';
