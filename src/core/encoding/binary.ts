/**
 * Little-endian binary writer and bounds-checked reader for Backpact's formats. The reader throws
 * {@link MalformedError} on any read past the end, so decoders of untrusted bytes never index out
 * of range or allocate from a bogus length.
 */
import { MalformedError } from '../errors.ts';
import { fromUtf8, utf8 } from './bytes.ts';

/** Growable little-endian writer. */
export class BinaryWriter {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private pos = 0;

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Appends one byte. */
  u8(v: number): this {
    this.reserve(1);
    this.view.setUint8(this.pos, v);
    this.pos += 1;
    return this;
  }

  /** Appends a 32-bit unsigned integer. */
  u32(v: number): this {
    this.reserve(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
    return this;
  }

  /** Appends a non-negative integer below 2^53 as 64 bits. */
  u64(v: number): this {
    this.reserve(8);
    this.view.setBigUint64(this.pos, BigInt(v), true);
    this.pos += 8;
    return this;
  }

  /** Appends a signed integer in the safe range as 64 bits (e.g. milliseconds since 1970). */
  i64(v: number): this {
    this.reserve(8);
    this.view.setBigInt64(this.pos, BigInt(v), true);
    this.pos += 8;
    return this;
  }

  /** Appends raw bytes (fixed-size fields). */
  raw(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  /** Appends u32 length ‖ bytes. */
  bytes(bytes: Uint8Array): this {
    return this.u32(bytes.length).raw(bytes);
  }

  /** Appends u32 length ‖ UTF-8. */
  string(s: string): this {
    return this.bytes(utf8(s));
  }

  /** The bytes written so far (a copy). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** Bounds-checked little-endian reader over untrusted bytes. */
export class BinaryReader {
  private readonly view: DataView;
  private pos = 0;

  constructor(
    private readonly buf: Uint8Array,
    /** Format name used in error messages. */
    private readonly format: string,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Bytes left. */
  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (n > this.remaining) throw new MalformedError(this.format, `truncated at byte ${this.pos} (needed ${n} more)`);
  }

  /** Reads one byte. */
  u8(): number {
    this.need(1);
    return this.view.getUint8(this.pos++);
  }

  /** Reads a 32-bit unsigned integer. */
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** Reads a 64-bit unsigned integer, which must be below 2^53. */
  u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new MalformedError(this.format, 'integer too large');
    return Number(v);
  }

  /** Reads a signed 64-bit integer in the safe range. */
  i64(): number {
    this.need(8);
    const v = this.view.getBigInt64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new MalformedError(this.format, 'integer out of range');
    return Number(v);
  }

  /** Reads `n` raw bytes (a view, not a copy). */
  raw(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Reads u32 length ‖ bytes. */
  bytes(): Uint8Array {
    return this.raw(this.u32());
  }

  /** Reads u32 length ‖ UTF-8, rejecting invalid UTF-8. */
  string(): string {
    const b = this.bytes();
    try {
      return fromUtf8(b);
    } catch {
      throw new MalformedError(this.format, 'invalid UTF-8');
    }
  }

  /**
   * Reads a u32 element count, rejecting counts that could not fit in the remaining bytes at
   * `minElementBytes` each (so a bogus count cannot drive a huge loop or allocation).
   */
  count(minElementBytes: number): number {
    const n = this.u32();
    if (n * minElementBytes > this.remaining) throw new MalformedError(this.format, `count ${n} exceeds the remaining bytes`);
    return n;
  }

  /** Throws unless every byte was consumed (trailing bytes mean a malformed record). */
  end(): void {
    if (this.remaining !== 0) throw new MalformedError(this.format, `${this.remaining} trailing bytes`);
  }
}
