/**
 * A small store-only ZIP writer (and a reader to check it), for restores of many files.
 *
 * The writer never sees file contents: it makes the bytes that go around them — a local header
 * per entry, then the central directory — from each entry's name, size, CRC-32 and time, and
 * keeps the offsets. The caller interleaves the data (in the app, IndexedDB blobs joined into one
 * Blob), so a zip of any size is produced without holding its contents in memory. Because the
 * CRC is known before the data is written (combined from the chunks' CRCs with
 * {@link crc32Combine}), no data descriptors are needed.
 *
 * Format (PKWARE APPNOTE 6.3.10): method 0 (stored), general-purpose bit 11 (names in UTF-8),
 * DOS time in UTC plus an extended-timestamp field (0x5455) with the Unix mtime, Unix mode in
 * the external attributes, and ZIP64 (extra field 0x0001, end records 0x06064b50/0x07064b50)
 * only where a size, offset or count does not fit the classic fields. Directories end in '/'.
 */
import { InvalidArgumentError, MalformedError } from '../errors.ts';
import { fromUtf8, utf8 } from '../encoding/bytes.ts';

// ---------------------------------------------------------------------------------------------
// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), slicing by 16
// ---------------------------------------------------------------------------------------------

/** Table k (k = 0..15) at [k × 256, k × 256 + 256): the CRC of byte n followed by k zero bytes. */
const CRC_TABLE: Uint32Array = (() => {
  const t = new Uint32Array(16 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 16; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + n] = c >>> 0;
    }
  }
  return t;
})();

/** The 16-byte step reads little-endian 32-bit words through a Uint32Array view. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** CRC-32 of `data`, continuing from `crc` (the CRC of the bytes before it; 0 to start). */
export function crc32(data: Uint8Array, crc = 0): number {
  const t = CRC_TABLE;
  const n = data.length;
  let c = ~crc >>> 0;
  let i = 0;
  if (LITTLE_ENDIAN && n >= 64) {
    // Bytes one by one up to a 4-byte boundary, then 16 bytes (4 words) per step (~2 GB/s in
    // V8, about twice slicing by 8), then the tail byte by byte.
    while (((data.byteOffset + i) & 3) !== 0) c = t[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8);
    const words = new Uint32Array(data.buffer, data.byteOffset + i, (n - i) >>> 2);
    const end = words.length & ~3;
    for (let w = 0; w < end; w += 4) {
      const a = c ^ words[w]!;
      const b = words[w + 1]!;
      const d = words[w + 2]!;
      const e = words[w + 3]!;
      c = t[3840 + (a & 0xff)]! ^ t[3584 + ((a >>> 8) & 0xff)]! ^ t[3328 + ((a >>> 16) & 0xff)]! ^ t[3072 + (a >>> 24)]!
        ^ t[2816 + (b & 0xff)]! ^ t[2560 + ((b >>> 8) & 0xff)]! ^ t[2304 + ((b >>> 16) & 0xff)]! ^ t[2048 + (b >>> 24)]!
        ^ t[1792 + (d & 0xff)]! ^ t[1536 + ((d >>> 8) & 0xff)]! ^ t[1280 + ((d >>> 16) & 0xff)]! ^ t[1024 + (d >>> 24)]!
        ^ t[768 + (e & 0xff)]! ^ t[512 + ((e >>> 8) & 0xff)]! ^ t[256 + ((e >>> 16) & 0xff)]! ^ t[e >>> 24]!;
    }
    i += end * 4;
  }
  for (; i < n; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function gf2Times(mat: Uint32Array, vec: number): number {
  let sum = 0;
  for (let i = 0; vec !== 0; i++, vec >>>= 1) if (vec & 1) sum ^= mat[i]!;
  return sum >>> 0;
}

function gf2Square(square: Uint32Array, mat: Uint32Array): void {
  for (let n = 0; n < 32; n++) square[n] = gf2Times(mat, mat[n]!);
}

/**
 * CRC-32 of A ‖ B from crc(A), crc(B) and |B| (zlib's `crc32_combine`, by squaring the
 * operator of one zero bit over GF(2)). Lets a file's CRC come from its chunks' CRCs.
 */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  if (!Number.isSafeInteger(lengthB) || lengthB < 0) throw new InvalidArgumentError('length must be a non-negative integer');
  if (lengthB === 0) return crcA >>> 0;
  const even = new Uint32Array(32);
  const odd = new Uint32Array(32);
  odd[0] = 0xedb88320;
  for (let n = 1, row = 1; n < 32; n++, row <<= 1) odd[n] = row;
  gf2Square(even, odd); // two zero bits
  gf2Square(odd, even); // four zero bits
  let a = crcA >>> 0;
  let len = lengthB;
  do {
    gf2Square(even, odd);
    if (len % 2) a = gf2Times(even, a);
    len = Math.floor(len / 2);
    if (len === 0) break;
    gf2Square(odd, even);
    if (len % 2) a = gf2Times(odd, a);
    len = Math.floor(len / 2);
  } while (len !== 0);
  return (a ^ crcB) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------

/** One entry of a zip. */
export interface ZipEntry {
  /** '/'-separated path; directories without the trailing '/' (it is added). */
  readonly name: string;
  readonly kind: 'file' | 'directory';
  /** Bytes of the file (0 for a directory). */
  readonly size: number;
  /** CRC-32 of the contents (0 for a directory or an empty file). */
  readonly crc: number;
  /** Last modification, ms since 1970. */
  readonly mtime: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_END64 = 0x06064b50;
const SIG_LOCATOR64 = 0x07064b50;
const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;
const FLAG_UTF8 = 1 << 11;
const VERSION_MADE_BY = (3 << 8) | 45; // Unix, spec 4.5
const MODE_FILE = 0o100644;
const MODE_DIR = 0o040755;

class Bytes {
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  pos = 0;
  constructor(n: number) {
    this.buf = new Uint8Array(n);
    this.view = new DataView(this.buf.buffer);
  }
  u16(v: number): this {
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
    return this;
  }
  u32(v: number): this {
    this.view.setUint32(this.pos, v >>> 0, true);
    this.pos += 4;
    return this;
  }
  u64(v: number): this {
    this.view.setBigUint64(this.pos, BigInt(v), true);
    this.pos += 8;
    return this;
  }
  raw(b: Uint8Array): this {
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  done(): Uint8Array {
    if (this.pos !== this.buf.length) throw new Error(`zip writer: wrote ${this.pos} of ${this.buf.length} bytes`);
    return this.buf;
  }
}

/** DOS date and time (UTC; 1980-01-01 for earlier times, as the format cannot say earlier). */
function dosDateTime(ms: number): { date: number; time: number } {
  const d = new Date(Math.max(ms, Date.UTC(1980, 0, 1)));
  const year = Math.min(d.getUTCFullYear(), 2107);
  return {
    date: ((year - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
  };
}

function unixSeconds(ms: number): number | null {
  const s = Math.floor(ms / 1000);
  return s >= 0 && s <= 0x7fffffff ? s : null;
}

interface Written {
  entry: ZipEntry;
  nameBytes: Uint8Array;
  offset: number;
}

/**
 * Produces the bytes of a store-only zip around the caller's data: for each entry, write
 * {@link entry}'s result and then exactly `size` bytes of contents; at the end write
 * {@link finish}'s result. {@link size} of the whole zip is known from the entries alone.
 */
export class ZipWriter {
  private readonly written: Written[] = [];
  private offset = 0;
  private finished = false;

  /** Bytes written (or to be written) so far, data included. */
  get length(): number {
    return this.offset;
  }

  /** The local header of `entry`; its `size` bytes of data must follow it. */
  entry(entry: ZipEntry): Uint8Array {
    if (this.finished) throw new InvalidArgumentError('the zip is finished');
    if (!Number.isSafeInteger(entry.size) || entry.size < 0) throw new InvalidArgumentError('size must be a non-negative integer');
    if (entry.kind === 'directory' && entry.size !== 0) throw new InvalidArgumentError('a directory has no contents');
    const name = entry.kind === 'directory' ? `${entry.name}/` : entry.name;
    const nameBytes = utf8(name);
    if (nameBytes.length > U16_MAX || name.length === 0) throw new InvalidArgumentError('bad entry name');
    const zip64 = entry.size >= U32_MAX;
    const mtime = unixSeconds(entry.mtime);
    const extraLength = (zip64 ? 20 : 0) + (mtime !== null ? 9 : 0);
    const { date, time } = dosDateTime(entry.mtime);
    const b = new Bytes(30 + nameBytes.length + extraLength)
      .u32(SIG_LOCAL).u16(zip64 ? 45 : 20).u16(FLAG_UTF8).u16(0).u16(time).u16(date)
      .u32(entry.crc).u32(zip64 ? U32_MAX : entry.size).u32(zip64 ? U32_MAX : entry.size)
      .u16(nameBytes.length).u16(extraLength).raw(nameBytes);
    if (zip64) b.u16(0x0001).u16(16).u64(entry.size).u64(entry.size);
    if (mtime !== null) b.u16(0x5455).u16(5).raw(new Uint8Array([1])).u32(mtime);
    const header = b.done();
    this.written.push({ entry, nameBytes, offset: this.offset });
    this.offset += header.length + entry.size;
    return header;
  }

  /** The central directory and end records; no entry may follow. */
  finish(): Uint8Array {
    if (this.finished) throw new InvalidArgumentError('the zip is finished');
    this.finished = true;
    const parts: Uint8Array[] = [];
    const cdStart = this.offset;
    let cdLength = 0;
    for (const w of this.written) {
      const { entry } = w;
      const bigSize = entry.size >= U32_MAX;
      const bigOffset = w.offset >= U32_MAX;
      const zipExtra = (bigSize ? 16 : 0) + (bigOffset ? 8 : 0);
      const mtime = unixSeconds(entry.mtime);
      const extraLength = (zipExtra ? 4 + zipExtra : 0) + (mtime !== null ? 9 : 0);
      const { date, time } = dosDateTime(entry.mtime);
      const dir = entry.kind === 'directory';
      const external = ((dir ? MODE_DIR : MODE_FILE) << 16) | (dir ? 0x10 : 0);
      const b = new Bytes(46 + w.nameBytes.length + extraLength)
        .u32(SIG_CENTRAL).u16(VERSION_MADE_BY).u16(zipExtra ? 45 : 20).u16(FLAG_UTF8).u16(0).u16(time).u16(date)
        .u32(entry.crc).u32(bigSize ? U32_MAX : entry.size).u32(bigSize ? U32_MAX : entry.size)
        .u16(w.nameBytes.length).u16(extraLength).u16(0).u16(0).u16(0).u32(external).u32(bigOffset ? U32_MAX : w.offset)
        .raw(w.nameBytes);
      if (zipExtra) {
        b.u16(0x0001).u16(zipExtra);
        if (bigSize) b.u64(entry.size).u64(entry.size);
        if (bigOffset) b.u64(w.offset);
      }
      if (mtime !== null) b.u16(0x5455).u16(5).raw(new Uint8Array([1])).u32(mtime);
      const rec = b.done();
      parts.push(rec);
      cdLength += rec.length;
    }
    const count = this.written.length;
    const needs64 = count >= U16_MAX || cdStart >= U32_MAX || cdLength >= U32_MAX;
    if (needs64) {
      const end64At = cdStart + cdLength;
      parts.push(new Bytes(56).u32(SIG_END64).u64(44).u16(VERSION_MADE_BY).u16(45).u32(0).u32(0).u64(count).u64(count).u64(cdLength).u64(cdStart).done());
      parts.push(new Bytes(20).u32(SIG_LOCATOR64).u32(0).u64(end64At).u32(1).done());
    }
    parts.push(new Bytes(22).u32(SIG_END).u16(0).u16(0)
      .u16(needs64 ? U16_MAX : count).u16(needs64 ? U16_MAX : count)
      .u32(needs64 ? U32_MAX : cdLength).u32(needs64 ? U32_MAX : cdStart).u16(0).done());
    const total = parts.reduce((n, p) => n + p.length, 0);
    const out = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    this.offset += total;
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Reader (for tests and checks: the central directory of a zip held in memory)
// ---------------------------------------------------------------------------------------------

/** An entry found by {@link readZip}. */
export interface ZipListing {
  readonly name: string;
  readonly kind: 'file' | 'directory';
  readonly size: number;
  readonly crc: number;
  /** Offset of the entry's data in the zip. */
  readonly dataOffset: number;
  /** Unix mtime in seconds from the extended timestamp, if present. */
  readonly mtimeS: number | null;
}

/**
 * Lists the entries of a store-only zip (`bytes` is the whole file) and checks each local header
 * against the central directory. Throws {@link MalformedError}. Contents are not checked here:
 * compare `crc32(bytes.subarray(dataOffset, dataOffset + size))` with `crc` to do so.
 */
export function readZip(bytes: Uint8Array): ZipListing[] {
  const fail = (why: string): never => {
    throw new MalformedError('zip', why);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (o: number): number => (o + 2 <= bytes.length ? view.getUint16(o, true) : fail('truncated'));
  const u32 = (o: number): number => (o + 4 <= bytes.length ? view.getUint32(o, true) : fail('truncated'));
  const u64 = (o: number): number => (o + 8 <= bytes.length ? Number(view.getBigUint64(o, true)) : fail('truncated'));
  let end = -1;
  for (let o = bytes.length - 22; o >= Math.max(0, bytes.length - 22 - U16_MAX); o--) {
    if (u32(o) === SIG_END) {
      end = o;
      break;
    }
  }
  if (end < 0) fail('no end of central directory');
  let count = u16(end + 10);
  let cdLength = u32(end + 12);
  let cdStart = u32(end + 16);
  if (count === U16_MAX || cdLength === U32_MAX || cdStart === U32_MAX) {
    const loc = end - 20;
    if (u32(loc) !== SIG_LOCATOR64) fail('no zip64 locator');
    const e64 = u64(loc + 8);
    if (u32(e64) !== SIG_END64) fail('no zip64 end record');
    count = u64(e64 + 32);
    cdLength = u64(e64 + 40);
    cdStart = u64(e64 + 48);
  }
  const out: ZipListing[] = [];
  let p = cdStart;
  for (let i = 0; i < count; i++) {
    if (u32(p) !== SIG_CENTRAL) fail(`central record ${i} missing`);
    if (u16(p + 10) !== 0) fail('only stored entries are supported');
    const crc = u32(p + 16);
    let size = u32(p + 24);
    const nameLength = u16(p + 28);
    const extraLength = u16(p + 30);
    const commentLength = u16(p + 32);
    let offset = u32(p + 42);
    if (p + 46 + nameLength > bytes.length) fail('truncated');
    let name = fromUtf8(bytes.subarray(p + 46, p + 46 + nameLength));
    let mtimeS: number | null = null;
    for (let x = p + 46 + nameLength; x < p + 46 + nameLength + extraLength;) {
      const id = u16(x);
      const len = u16(x + 2);
      let f = x + 4;
      if (id === 0x0001) {
        if (size === U32_MAX) {
          size = u64(f);
          f += 16;
        }
        if (offset === U32_MAX) offset = u64(f);
      }
      if (id === 0x5455 && len >= 5) mtimeS = u32(x + 5);
      x += 4 + len;
    }
    if (u32(offset) !== SIG_LOCAL) fail(`local header of ${name} missing`);
    const localName = u16(offset + 26);
    const localExtra = u16(offset + 28);
    if (fromUtf8(bytes.subarray(offset + 30, offset + 30 + localName)) !== name) fail(`local name of ${name} differs`);
    if (u32(offset + 14) !== crc) fail(`local CRC of ${name} differs`);
    const dataOffset = offset + 30 + localName + localExtra;
    if (dataOffset + size > bytes.length) fail(`data of ${name} is truncated`);
    const kind = name.endsWith('/') ? 'directory' : 'file';
    if (kind === 'directory') name = name.slice(0, -1);
    out.push({ name, kind, size, crc, dataOffset, mtimeS });
    p += 46 + nameLength + extraLength + commentLength;
  }
  if (p !== cdStart + cdLength) fail('central directory length differs');
  return out;
}
