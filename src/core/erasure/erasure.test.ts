import fc from 'fast-check';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { CodeParametersError, NotEnoughShardsError, ShardLengthError } from '../errors.ts';
import { toHex } from '../encoding/bytes.ts';
import { gfBitMatrix, gfDiv, gfInv, gfInvertMatrix, gfMul } from './gf256.ts';
import { codingMatrix, encode, encodeInto, PACKET_BYTES, reconstruct } from './index.ts';

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
function prng(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s & 0xff;
  }
  return out;
}

function stripe(k: number, m: number, length: number, seed: number): Uint8Array[] {
  const data = Array.from({ length: k }, (_, j) => prng(length, seed * 1000 + j + 1));
  return [...data, ...encode(data, m)];
}

/** Every subset of {0..n-1} with at most `max` members. */
function* erasurePatterns(n: number, max: number): Generator<number[]> {
  const pick: number[] = [];
  function* rec(start: number): Generator<number[]> {
    yield pick.slice();
    if (pick.length === max) return;
    for (let i = start; i < n; i++) {
      pick.push(i);
      yield* rec(i + 1);
      pick.pop();
    }
  }
  yield* rec(0);
}

function expectEveryPatternRecovers(all: Uint8Array[], k: number, m: number): number {
  let patterns = 0;
  for (const lost of erasurePatterns(k + m, m)) {
    const shards: (Uint8Array | null)[] = all.slice();
    for (const i of lost) shards[i] = null;
    const out = reconstruct(shards, k);
    for (let i = 0; i < k + m; i++) {
      if (toHex(sha256(out[i]!)) !== toHex(sha256(all[i]!))) {
        throw new Error(`k=${k} m=${m} length=${all[0]!.length} lost=[${lost}] shard ${i} differs`);
      }
    }
    patterns++;
  }
  return patterns;
}

describe('GF(2^8)', () => {
  it('multiplication is a field operation with inverses', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), (a, b, c) => {
        expect(gfMul(a, b)).toBe(gfMul(b, a));
        expect(gfMul(a, gfMul(b, c))).toBe(gfMul(gfMul(a, b), c));
        expect(gfMul(a, b ^ c)).toBe(gfMul(a, b) ^ gfMul(a, c));
        if (a !== 0) {
          expect(gfMul(a, gfInv(a))).toBe(1);
          expect(gfMul(gfDiv(b, a), a)).toBe(b);
        }
      }),
    );
  });

  it('the bit matrix of c multiplies bit vectors like c multiplies field elements', () => {
    for (let c = 0; c < 256; c++) {
      const rows = gfBitMatrix(c);
      for (let x = 0; x < 256; x++) {
        let y = 0;
        for (let i = 0; i < 8; i++) {
          let bit = 0;
          for (let j = 0; j < 8; j++) bit ^= ((rows[i]! >> j) & 1) & ((x >> j) & 1);
          y |= bit << i;
        }
        expect(y).toBe(gfMul(c, x));
      }
    }
  });

  it('uses the 0x11d polynomial: 2^8 = 0x1d', () => {
    expect(gfMul(0x80, 2)).toBe(0x1d);
  });
});

describe('coding matrix', () => {
  /** True when every square submatrix of c is nonsingular (the MDS condition). */
  function everySquareSubmatrixInvertible(c: readonly (readonly number[])[]): boolean {
    const m = c.length;
    const k = c[0]!.length;
    const choose = (n: number, r: number): number[][] => {
      if (r === 0) return [[]];
      if (n < r) return [];
      return [...choose(n - 1, r), ...choose(n - 1, r - 1).map((s) => [...s, n - 1])];
    };
    for (let size = 1; size <= Math.min(k, m); size++) {
      for (const rows of choose(m, size)) {
        for (const cols of choose(k, size)) {
          if (!gfInvertMatrix(rows.map((r) => cols.map((j) => c[r]![j]!)))) return false;
        }
      }
    }
    return true;
  }

  it('is MDS for every small (k, m), including the tuned ones', () => {
    for (let k = 1; k <= 12; k++) {
      for (let m = 1; m <= 5 && k + m <= 14; m++) {
        expect(everySquareSubmatrixInvertible(codingMatrix(k, m)), `k=${k} m=${m}`).toBe(true);
      }
    }
  });

  it('has an all-ones first parity row, so parity 0 is the XOR of the data', () => {
    for (const [k, m] of [[1, 1], [4, 2], [10, 4], [6, 3], [30, 7]] as const) {
      expect(codingMatrix(k, m)[0]).toEqual(new Array(k).fill(1));
    }
  });

  it('rejects parameters outside 1 ≤ k, 1 ≤ m, k + m ≤ 255', () => {
    for (const [k, m] of [[0, 1], [1, 0], [200, 56], [2.5, 1], [-1, 2]] as const) {
      expect(() => codingMatrix(k, m)).toThrow(CodeParametersError);
    }
    expect(() => codingMatrix(200, 55)).not.toThrow();
  });
});

describe('encode and reconstruct', () => {
  it('is Reed-Solomon over bit-sliced GF(2^8) symbols (checked against a symbol-wise reference)', () => {
    const k = 3;
    const m = 2;
    const length = 2 * 8 * PACKET_BYTES + 8 * 12 + 7; // two full super-blocks, a tail block, 7 byte-wise bytes
    const all = stripe(k, m, length, 7);
    const c = codingMatrix(k, m);
    const bitAt = (b: Uint8Array, i: number): number => (b[i >> 3]! >> (i & 7)) & 1;
    // Gather symbols of super-blocks: symbol bit q = bit t of packet q.
    const superBlocks: { start: number; packet: number }[] = [
      { start: 0, packet: PACKET_BYTES },
      { start: 8 * PACKET_BYTES, packet: PACKET_BYTES },
      { start: 16 * PACKET_BYTES, packet: 12 },
    ];
    for (const { start, packet } of superBlocks) {
      for (let t = 0; t < packet * 8; t += 13) {
        const symbol = (shard: Uint8Array): number => {
          let s = 0;
          for (let q = 0; q < 8; q++) s |= bitAt(shard, (start + q * packet) * 8 + t) << q;
          return s;
        };
        for (let r = 0; r < m; r++) {
          let expected = 0;
          for (let j = 0; j < k; j++) expected ^= gfMul(c[r]![j]!, symbol(all[j]!));
          expect(symbol(all[k + r]!)).toBe(expected);
        }
      }
    }
    // The last 7 bytes are one symbol each.
    for (let t = length - 7; t < length; t++) {
      for (let r = 0; r < m; r++) {
        let expected = 0;
        for (let j = 0; j < k; j++) expected ^= gfMul(c[r]![j]!, all[j]![t]!);
        expect(all[k + r]![t]).toBe(expected);
      }
    }
  });

  it('recovers the originals from every erasure pattern of up to m shards (random k, m, lengths)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 4 }),
        fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 8 * PACKET_BYTES - 40, max: 3 * 8 * PACKET_BYTES + 100 })),
        fc.integer({ min: 1, max: 1 << 30 }),
        (k, m, length, seed) => {
          expectEveryPatternRecovers(stripe(k, m, length, seed), k, m);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('recovers every erasure pattern of the configurations the app uses most (4+2, 10+4, 1+2)', () => {
    expect(expectEveryPatternRecovers(stripe(4, 2, 8 * PACKET_BYTES + 333, 1), 4, 2)).toBe(22);
    expect(expectEveryPatternRecovers(stripe(10, 4, 8 * PACKET_BYTES + 64, 2), 10, 4)).toBe(1471);
    expect(expectEveryPatternRecovers(stripe(1, 2, 5000, 3), 1, 2)).toBe(7);
  });

  it('k = 1 is replication', () => {
    const all = stripe(1, 3, 1000, 4);
    for (const p of all.slice(1)) expect(p).toEqual(all[0]);
  });

  it('handles wide codes (k + m = 255) and many erasures', () => {
    const k = 128;
    const m = 127;
    const all = stripe(k, m, 40, 5);
    const shards: (Uint8Array | null)[] = all.slice();
    for (let i = 0; i < k + m - 1; i += 2) shards[i] = null; // 127 lost: 64 data and 63 parity
    const out = reconstruct(shards, k);
    for (let i = 0; i < k + m; i++) expect(out[i]).toEqual(all[i]);
  });

  it('accepts shards at unaligned offsets and leaves the inputs untouched', () => {
    const k = 4;
    const m = 2;
    const length = 8 * PACKET_BYTES + 100;
    const backing = prng(k * length + 3, 9);
    const data = Array.from({ length: k }, (_, j) => backing.subarray(1 + j * length, 1 + (j + 1) * length));
    const before = backing.slice();
    const parity = encode(data, m);
    expect(backing).toEqual(before);
    const aligned = data.map((d) => d.slice());
    expect(parity).toEqual(encode(aligned, m));
    const out = reconstruct([null, data[1]!, null, data[3]!, parity[0]!, parity[1]!], k);
    expect(out[0]).toEqual(aligned[0]);
    expect(out[2]).toEqual(aligned[2]);
  });

  it('encodes into caller-provided parity arrays (one buffer, or unaligned) with the same bytes', () => {
    for (const [k, m, length] of [[4, 2, 3 * 8 * PACKET_BYTES + 8 * 20 + 5], [3, 3, 100], [1, 2, 64], [5, 1, 0]] as const) {
      const data = Array.from({ length: k }, (_, j) => prng(length, 70 + j));
      const expected = encode(data, m);
      // Data and parity as consecutive views of one buffer, parity written after the data.
      const buffer = new Uint8Array((k + m) * length);
      data.forEach((d, j) => buffer.set(d, j * length));
      const views = Array.from({ length: k + m }, (_, i) => buffer.subarray(i * length, (i + 1) * length));
      buffer.fill(0xee, k * length);
      encodeInto(views.slice(0, k), views.slice(k));
      expect(views.slice(k)).toEqual(expected);
      // Parity at an odd offset is computed aside and copied in.
      const odd = new Uint8Array(m * length + 1);
      const oddViews = Array.from({ length: m }, (_, r) => odd.subarray(1 + r * length, 1 + (r + 1) * length));
      encodeInto(data, oddViews);
      expect(oddViews).toEqual(expected);
    }
    expect(() => encodeInto([new Uint8Array(8)], [new Uint8Array(9)])).toThrow(ShardLengthError);
    expect(() => encodeInto([new Uint8Array(8)], [])).toThrow(CodeParametersError);
  });

  it('returns the present shards themselves and all shards when none is missing', () => {
    const all = stripe(3, 2, 100, 6);
    const shards: (Uint8Array | null)[] = all.slice();
    shards[1] = null;
    const out = reconstruct(shards, 3);
    expect(out[0]).toBe(all[0]);
    expect(out[4]).toBe(all[4]);
    expect(reconstruct(all, 3)).toEqual(all);
  });

  it('codes empty shards', () => {
    expect(encode([new Uint8Array(0), new Uint8Array(0)], 2)).toEqual([new Uint8Array(0), new Uint8Array(0)]);
    expect(reconstruct([null, new Uint8Array(0), new Uint8Array(0)], 2)).toEqual([new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)]);
  });

  it('throws typed errors for too few shards, unequal lengths and bad parameters', () => {
    const all = stripe(4, 2, 64, 8);
    expect(() => reconstruct([null, null, null, all[3]!, all[4]!, all[5]!], 4)).toThrow(NotEnoughShardsError);
    try {
      reconstruct([null, null, null, all[3]!, all[4]!, all[5]!], 4);
    } catch (e) {
      expect(e).toMatchObject({ present: 3, needed: 4, code: 'not-enough-shards' });
    }
    expect(() => reconstruct([null, all[1]!, all[2]!, all[3]!, new Uint8Array(63), all[5]!], 4)).toThrow(ShardLengthError);
    expect(() => encode([new Uint8Array(4), new Uint8Array(5)], 1)).toThrow(ShardLengthError);
    expect(() => encode([], 2)).toThrow(CodeParametersError);
    expect(() => encode([new Uint8Array(4)], 0)).toThrow(CodeParametersError);
    expect(() => encode(Array.from({ length: 250 }, () => new Uint8Array(1)), 6)).toThrow(CodeParametersError);
    expect(() => reconstruct([all[0]!, all[1]!, all[2]!, all[3]!], 4)).toThrow(CodeParametersError);
  });

  it('produces the committed golden parity (the symbol layout and matrices are a format)', () => {
    const golden = JSON.parse(readFileSync(new URL('./__fixtures__/parity-digests.json', import.meta.url), 'utf8')) as Record<string, string[]>;
    const actual: Record<string, string[]> = {};
    for (const [k, m] of [[1, 2], [2, 1], [4, 2], [6, 3], [10, 4], [3, 5]] as const) {
      const length = 3 * 8 * PACKET_BYTES + 8 * 20 + 5;
      actual[`${k}+${m}`] = stripe(k, m, length, 42).slice(k).map((p) => toHex(sha256(p)));
    }
    expect(actual).toEqual(golden);
  });
});
