/**
 * Byte helpers shared by every core format: hex, RFC 4648 base32, UTF-8, concatenation and
 * comparison. Pure functions over `Uint8Array`, no Node `Buffer`, so they run in workers too.
 */
import { InvalidArgumentError } from '../errors.ts';

const HEX = '0123456789abcdef';

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    out += HEX[b >> 4]! + HEX[b & 15]!;
  }
  return out;
}

/** Parses hex (either case, even length). Throws {@link InvalidArgumentError} on anything else. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new InvalidArgumentError('hex string must have an even number of hex digits');
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const B32 = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * RFC 4648 base32, lower case, without padding. Chosen for ids people may read aloud or type:
 * one case, no 0/O or 1/l confusion, URL-safe.
 */
export function toBase32(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < bytes.length; i++) {
    acc = (acc << 8) | bytes[i]!;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += B32[(acc >>> bits) & 31]!;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += B32[(acc << (5 - bits)) & 31]!;
  return out;
}

/** Inverse of {@link toBase32} (case-insensitive). Throws {@link InvalidArgumentError} on bad input. */
export function fromBase32(text: string): Uint8Array {
  const s = text.toLowerCase();
  const out = new Uint8Array(Math.floor((s.length * 5) / 8));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    const v = B32.indexOf(s[i]!);
    if (v < 0) throw new InvalidArgumentError(`invalid base32 character at ${i}`);
    acc = ((acc << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
  }
  // Canonical encodings only: leftover bits must be zero, so every id has one spelling.
  if ((acc & ((1 << bits) - 1)) !== 0) throw new InvalidArgumentError('non-canonical base32');
  return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 bytes of `text`. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Decodes UTF-8, throwing `TypeError` on invalid sequences (callers map it to a typed error). */
export function fromUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Concatenates byte arrays into a new array. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * True when `a` and `b` hold the same bytes. Runs in time independent of where they differ, so it
 * is safe for comparing MACs and roots.
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Lexicographic comparison of byte strings: negative, zero or positive like `Array.sort` wants. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** 4 bytes, big-endian. */
export function u32be(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n >>> 0, false);
  return out;
}

/**
 * Returns `bytes` itself when it exactly spans an `ArrayBuffer` (not a `SharedArrayBuffer`), else a
 * copy. WebCrypto and `postMessage` transfer want such plain buffers.
 */
export function ownBuffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  if (bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) {
    return bytes as Uint8Array<ArrayBuffer>;
  }
  return bytes.slice() as Uint8Array<ArrayBuffer>;
}
