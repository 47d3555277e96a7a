import fc from 'fast-check';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { CHUNK_AVG_BYTES, CHUNK_MAX_BYTES, CHUNK_MIN_BYTES } from '../constants.ts';
import { bytesEqual, concatBytes, toHex } from '../encoding/bytes.ts';
import { InvalidArgumentError } from '../errors.ts';
import { Chunker, chunkAll, GEAR, type ChunkerOptions } from './index.ts';

/** Deterministic pseudo-random bytes, fast enough for 64 MiB (xorshift32, 4 bytes per step). */
function prng(length: number, seed: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(length / 4));
  let s = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    words[i] = s;
  }
  return new Uint8Array(words.buffer, 0, length);
}

function chunkInPieces(data: Uint8Array, cuts: number[], options?: ChunkerOptions): Uint8Array[] {
  const c = new Chunker(options);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const cut of [...cuts.sort((a, b) => a - b), data.length]) {
    out.push(...c.push(data.subarray(prev, cut)));
    if (c.bufferedBytes > (options?.max ?? CHUNK_MAX_BYTES)) throw new Error('chunker buffered more than max');
    prev = cut;
  }
  return [...out, ...c.finish()];
}

const lengths = (chunks: Uint8Array[]): number[] => chunks.map((c) => c.length);
const SMALL: ChunkerOptions = { min: 64, avg: 256, max: 1024 };

describe('FastCDC chunker', () => {
  it('uses the committed gear table (a format constant)', () => {
    const le = new Uint8Array(1024);
    GEAR.forEach((v, i) => new DataView(le.buffer).setInt32(4 * i, v, true));
    expect(toHex(sha256(le))).toBe('14ebcc2bd197575a42720b4dea109e1b626e2030e2b2420562ba25a4e6bea5bd');
    expect([GEAR[0], GEAR[1], GEAR[255]]).toEqual([-1685201583, -1720290389, 1418383900]);
    expect(GEAR).toHaveLength(256);
    expect(new Set(GEAR).size).toBe(256);
  });

  it('reassembles to the input, with every chunk but the last within [min, max]', () => {
    const data = prng(24 * 1024 * 1024 + 12345, 1);
    const chunks = chunkAll(data);
    expect(toHex(sha256(concatBytes(...chunks)))).toBe(toHex(sha256(data)));
    for (const c of chunks.slice(0, -1)) {
      expect(c.length).toBeGreaterThanOrEqual(CHUNK_MIN_BYTES);
      expect(c.length).toBeLessThanOrEqual(CHUNK_MAX_BYTES);
    }
    const mean = data.length / chunks.length;
    // Normalised chunking clusters sizes a little above the 1 MiB target.
    expect(mean).toBeGreaterThan(0.75 * CHUNK_AVG_BYTES);
    expect(mean).toBeLessThan(1.6 * CHUNK_AVG_BYTES);
  });

  it('cuts at max on data without cut points, and keeps a short last chunk', () => {
    const zeros = new Uint8Array(CHUNK_MAX_BYTES * 2 + 10);
    // A run of one byte value makes fp constant; with GEAR[0] this never meets the masks.
    expect(lengths(chunkAll(zeros))).toEqual([CHUNK_MAX_BYTES, CHUNK_MAX_BYTES, 10]);
    expect(chunkAll(new Uint8Array(0))).toEqual([]);
    expect(lengths(chunkAll(new Uint8Array(100)))).toEqual([100]);
  });

  it('finds the same boundaries however the input is split (default sizes, random splits)', () => {
    const data = prng(10 * 1024 * 1024 + 777, 2);
    const expected = lengths(chunkAll(data));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: data.length }), { maxLength: 40 }), (cuts) => {
        expect(lengths(chunkInPieces(data, cuts))).toEqual(expected);
      }),
      { numRuns: 25 },
    );
    // Tiny pieces, including unaligned ones, exercise the byte-wise paths.
    const tiny = Array.from({ length: 3000 }, (_, i) => 1 + i * 7);
    expect(lengths(chunkInPieces(data.subarray(0, 30_000), tiny, SMALL))).toEqual(lengths(chunkAll(data.subarray(0, 30_000), SMALL)));
  });

  it('finds the same boundaries however the input is split (small sizes, many chunks)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 50_000 }),
        fc.integer({ min: 1, max: 1 << 30 }),
        fc.array(fc.nat(), { maxLength: 60 }),
        fc.integer({ min: 0, max: 3 }),
        (length, seed, rawCuts, offset) => {
          // Offsetting the data in its buffer moves word alignment.
          const data = prng(length + offset, seed).subarray(offset);
          const cuts = rawCuts.map((c) => (length === 0 ? 0 : c % (length + 1)));
          const chunks = chunkInPieces(data, cuts, SMALL);
          expect(lengths(chunks)).toEqual(lengths(chunkAll(data, SMALL)));
          expect(bytesEqual(concatBytes(...chunks), data)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('inserting one byte in the middle of a 64 MiB file changes at most 3 chunks', () => {
    const size = 64 * 1024 * 1024;
    const data = prng(size, 3);
    const edited = new Uint8Array(size + 1);
    edited.set(data.subarray(0, size / 2));
    edited[size / 2] = 0x5a;
    edited.set(data.subarray(size / 2), size / 2 + 1);
    const digests = (chunks: Uint8Array[]): string[] => chunks.map((c) => toHex(sha256(c)));
    const before = new Set(digests(chunkAll(data)));
    const after = digests(chunkAll(edited));
    const changed = after.filter((d) => !before.has(d));
    expect(changed.length).toBeGreaterThanOrEqual(1);
    expect(changed.length).toBeLessThanOrEqual(3);
    // And deleting a byte likewise.
    const deleted = new Uint8Array(size - 1);
    deleted.set(data.subarray(0, size / 3));
    deleted.set(data.subarray(size / 3 + 1), size / 3);
    expect(digests(chunkAll(deleted)).filter((d) => !before.has(d)).length).toBeLessThanOrEqual(3);
  });

  it('hands out the same chunks as views (pushViews / finishViews), each valid until the next call', () => {
    const data = prng(3 * 1024 * 1024 + 77, 11);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: data.length - 1 }), { maxLength: 40 }), (cuts) => {
        const expected = chunkInPieces(data, cuts.slice(), SMALL);
        const c = new Chunker(SMALL);
        const got: Uint8Array[] = [];
        let prev = 0;
        for (const cut of [...cuts.sort((a, b) => a - b), data.length]) {
          // Copy each view before the next call, as the contract requires.
          for (const v of c.pushViews(data.subarray(prev, cut))) got.push(v.slice());
          prev = cut;
        }
        for (const v of c.finishViews()) got.push(v.slice());
        expect(lengths(got)).toEqual(lengths(expected));
        expect(got.every((g, i) => bytesEqual(g, expected[i]!))).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it('keeps every view of one pushViews call intact while it writes the next chunk', () => {
    const data = prng(200_000, 12);
    const c = new Chunker(SMALL);
    // Pieces that end mid-chunk, so chunks are assembled in the chunker's own buffer.
    const views: Uint8Array[] = [];
    const copies: Uint8Array[] = [];
    for (let o = 0; o < data.length; o += 1500) {
      const out = c.pushViews(data.subarray(o, o + 1500));
      views.push(...out);
      copies.push(...out.map((v) => v.slice()));
      // Every view returned by this call still holds its bytes after the call.
      for (let i = views.length - out.length; i < views.length; i++) expect(bytesEqual(views[i]!, copies[i]!)).toBe(true);
    }
    expect(bytesEqual(concatBytes(...copies, ...c.finishViews()), data)).toBe(true);
  });

  it('starts a new stream after reset, with the same boundaries as a fresh chunker', () => {
    const a = prng(50_000, 13);
    const b = prng(40_000, 14);
    const c = new Chunker(SMALL);
    c.push(a);
    c.finish();
    c.reset();
    expect(lengths([...c.push(b), ...c.finish()])).toEqual(lengths(chunkAll(b, SMALL)));
  });

  it('rejects inconsistent options and use after finish', () => {
    expect(() => new Chunker({ min: 10, avg: 1000, max: 2000 })).toThrow(InvalidArgumentError);
    expect(() => new Chunker({ min: 2048, avg: 1024, max: 4096 })).toThrow(InvalidArgumentError);
    const c = new Chunker(SMALL);
    c.finish();
    expect(() => c.push(new Uint8Array(1))).toThrow(InvalidArgumentError);
  });
});

