/**
 * FastCDC content-defined chunking (Xia et al., USENIX ATC 2016) with normalised chunking:
 *
 * - A gear rolling hash fp = (fp << 1) + GEAR[byte] (32-bit), so bit i of fp depends on the last
 *   i + 1 bytes; the masks below use the top bits, which see the most bytes.
 * - No cut point is considered before `min` bytes (and those bytes are not even hashed).
 * - Between `min` and `avg`, a cut needs (fp & maskStrict) = 0, with log2(avg) + level one-bits:
 *   cuts are rare, so chunks seldom end early.
 * - After `avg`, a cut needs (fp & maskLoose) = 0, with log2(avg) − level one-bits: cuts come soon.
 * - A chunk is forced to end at `max` bytes.
 * The chunk includes the byte at which the condition held.
 *
 * {@link Chunker} is incremental: feed pieces of any size with `push`, get completed chunks back;
 * `finish` returns the last one. Boundaries depend only on the bytes, never on how they were
 * split into pieces, and memory is one `max`-sized buffer whatever the file size (two with the
 * copy-free {@link Chunker.pushViews}).
 */
import { CHUNK_AVG_BYTES, CHUNK_MAX_BYTES, CHUNK_MIN_BYTES, CHUNK_NORMALIZATION } from '../constants.ts';
import { InvalidArgumentError } from '../errors.ts';
import { GEAR } from './gear.ts';

/** Chunk size parameters; the defaults are Backpact's (256 KiB / 1 MiB / 4 MiB, level 2). */
export interface ChunkerOptions {
  /** Smallest chunk (except a stream's last). */
  min?: number;
  /** Target average; must be a power of two. */
  avg?: number;
  /** Largest chunk. */
  max?: number;
  /** Normalisation level (extra / fewer mask bits before / after `avg`). */
  normalization?: number;
}

/** A mask with `bits` one-bits at the top of a 32-bit word. */
function topMask(bits: number): number {
  return bits >= 32 ? -1 : ~((1 << (32 - bits)) - 1) | 0;
}

/** Hash state left by the last {@link scan} (module-level so the hot loop returns one number). */
let scanState = 0;

/** Word reads below assume little-endian byte order, true of every platform browsers run on. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Rolls the hash over piece[from, stop) starting from `fp`. Returns the index just past the first
 * byte where (fp & mask) = 0, or −1 if none; the hash after the last byte rolled is left in
 * `scanState`.
 *
 * Speed (see bench/core-fastcdc.bench.ts): the aligned middle is read 4 bytes per load through an
 * Int32Array view, and `GEAR` is referenced as a module constant so V8 knows its length and drops
 * the bounds check of every table lookup; together ~2× faster than a byte loop.
 */
function scan(piece: Uint8Array, from: number, stop: number, fp: number, mask: number): number {
  const gear = GEAR;
  let i = from;
  // Each loop leaves by one cold path, taken at most once per call: code V8 compiled before the
  // first cut point then deoptimizes once, not once per exit (there were seven).
  let hit = 0;
  if (LITTLE_ENDIAN && stop - from >= 16) {
    // Bytes until the next 4-byte-aligned address, then whole words.
    const head = Math.min(stop, from + ((4 - ((piece.byteOffset + from) & 3)) & 3));
    for (; i < head; i++) {
      fp = ((fp << 1) + gear[piece[i]!]!) | 0;
      if ((fp & mask) === 0) {
        hit = 1;
        break;
      }
    }
    if (hit === 0) {
      const words = (stop - i) >> 2;
      const view = new Int32Array(piece.buffer, piece.byteOffset + i, words);
      let w = 0;
      for (; w < words; w++) {
        const x = view[w]!;
        fp = ((fp << 1) + gear[x & 255]!) | 0;
        if ((fp & mask) === 0) {
          hit = 1;
          break;
        }
        fp = ((fp << 1) + gear[(x >>> 8) & 255]!) | 0;
        if ((fp & mask) === 0) {
          hit = 2;
          break;
        }
        fp = ((fp << 1) + gear[(x >>> 16) & 255]!) | 0;
        if ((fp & mask) === 0) {
          hit = 3;
          break;
        }
        fp = ((fp << 1) + gear[x >>> 24]!) | 0;
        if ((fp & mask) === 0) {
          hit = 4;
          break;
        }
      }
      // Past the words; on a hit, at the byte where it happened (byte hit − 1 of word w).
      i += hit === 0 ? 4 * words : 4 * w + hit - 1;
    }
  }
  if (hit === 0) {
    for (; i < stop; i++) {
      fp = ((fp << 1) + gear[piece[i]!]!) | 0;
      if ((fp & mask) === 0) {
        hit = 1;
        break;
      }
    }
  }
  scanState = fp;
  return hit === 0 ? -1 : i + 1;
}

/** Incremental FastCDC chunker; see the module comment. After {@link finish}, {@link reset} starts a new stream. */
export class Chunker {
  private readonly min: number;
  private readonly avg: number;
  private readonly max: number;
  private readonly maskStrict: number;
  private readonly maskLoose: number;
  /** Bytes of the chunk in progress; never more than `max`. */
  private buffer: Uint8Array;
  /** The other buffer of {@link pushViews} (null until first needed). */
  private spare: Uint8Array | null = null;
  /** Bytes in `buffer`. */
  private length = 0;
  /** Rolling hash over the chunk in progress (from byte `min` on). */
  private fp = 0;
  private finished = false;

  constructor(options: ChunkerOptions = {}) {
    this.min = options.min ?? CHUNK_MIN_BYTES;
    this.avg = options.avg ?? CHUNK_AVG_BYTES;
    this.max = options.max ?? CHUNK_MAX_BYTES;
    const level = options.normalization ?? CHUNK_NORMALIZATION;
    const bits = Math.log2(this.avg);
    if (!Number.isInteger(bits) || this.min < 1 || this.min > this.avg || this.avg > this.max || bits - level < 1 || bits + level > 32) {
      throw new InvalidArgumentError('chunker needs 1 ≤ min ≤ avg ≤ max, avg a power of two, and a level that fits');
    }
    this.maskStrict = topMask(bits + level);
    this.maskLoose = topMask(bits - level);
    this.buffer = new Uint8Array(this.max);
  }

  /**
   * Consumes `piece` (which the chunker does not keep) and returns the chunks it completed, in
   * order; each is a new array the caller owns.
   */
  push(piece: Uint8Array): Uint8Array[] {
    return this.cut(piece, false);
  }

  /**
   * {@link push} without copies: the chunks are views, of `piece` or of the chunker's own buffer,
   * valid until the next call to `pushViews`, `push` or `finish` (and as long as the caller leaves
   * `piece` unchanged). Same boundaries as {@link push}. For callers that consume each chunk at
   * once (e.g. hand it to WebCrypto, which copies what it reads); a second internal buffer is
   * allocated on first use, so a view handed out is never overwritten by the same call.
   */
  pushViews(piece: Uint8Array): Uint8Array[] {
    return this.cut(piece, true);
  }

  private cut(piece: Uint8Array, borrow: boolean): Uint8Array[] {
    if (this.finished) throw new InvalidArgumentError('push after finish');
    const out: Uint8Array[] = [];
    const end = piece.length;
    let off = 0;
    while (off < end) {
      // Bytes of the chunk in progress that came from earlier pieces (held in `buffer`).
      const held = this.length;
      const start = off;
      let pos = held;
      let fp = this.fp;
      let cut = false;
      if (pos < this.min) {
        // Before `min` nothing can cut, so these bytes are not even hashed.
        const n = Math.min(this.min - pos, end - off);
        off += n;
        pos += n;
      }
      if (pos >= this.min) {
        if (pos < this.avg) {
          const stop = Math.min(end, off + (this.avg - pos));
          const r = scan(piece, off, stop, fp, this.maskStrict);
          fp = scanState;
          cut = r >= 0;
          pos += (r >= 0 ? r : stop) - off;
          off = r >= 0 ? r : stop;
        }
        if (!cut && off < end && pos >= this.avg) {
          const stop = Math.min(end, off + (this.max - pos));
          const r = scan(piece, off, stop, fp, this.maskLoose);
          fp = scanState;
          cut = r >= 0;
          pos += (r >= 0 ? r : stop) - off;
          off = r >= 0 ? r : stop;
        }
      }
      if (cut || pos === this.max) {
        // A chunk wholly inside this piece is copied once (or not at all), straight from the piece.
        if (held === 0) {
          out.push(borrow ? piece.subarray(start, off) : piece.slice(start, off));
        } else {
          this.buffer.set(piece.subarray(start, off), held);
          if (borrow) {
            // Hand out this buffer and collect the next chunk in the other one.
            out.push(this.buffer.subarray(0, pos));
            const next = this.spare ?? new Uint8Array(this.max);
            this.spare = this.buffer;
            this.buffer = next;
          } else {
            out.push(this.buffer.slice(0, pos));
          }
        }
        this.length = 0;
        this.fp = 0;
      } else {
        this.buffer.set(piece.subarray(start, off), held);
        this.length = pos;
        this.fp = fp;
      }
    }
    return out;
  }

  /** Starts a new stream, keeping the buffers (cheaper than a new chunker per file). */
  reset(): void {
    this.length = 0;
    this.fp = 0;
    this.finished = false;
  }

  /** Bytes of the unfinished chunk held in memory (always ≤ `max`). */
  get bufferedBytes(): number {
    return this.length;
  }

  /** Ends the stream: returns the last chunk (shorter than `min` possibly), or none if empty. */
  finish(): Uint8Array[] {
    return this.end(false);
  }

  /** {@link finish} returning a view of the chunker's buffer instead of a copy (see {@link pushViews}). */
  finishViews(): Uint8Array[] {
    return this.end(true);
  }

  private end(borrow: boolean): Uint8Array[] {
    if (this.finished) return [];
    this.finished = true;
    if (this.length === 0) return [];
    const last = borrow ? this.buffer.subarray(0, this.length) : this.buffer.slice(0, this.length);
    this.length = 0;
    return [last];
  }
}

/** Chunks a whole in-memory buffer (convenience over {@link Chunker}). */
export function chunkAll(data: Uint8Array, options?: ChunkerOptions): Uint8Array[] {
  const c = new Chunker(options);
  return [...c.push(data), ...c.finish()];
}
