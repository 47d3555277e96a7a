/**
 * FastCDC chunking throughput (`fastcdc`), MB/s of input: 64 MiB of pseudo-random bytes fed in
 * 1 MiB pieces through the incremental chunker (256 KiB / 1 MiB / 4 MiB), one core.
 */
import { Chunker } from '../src/core/chunking/index.ts';
import { emit, measureMBps, xorBaseline } from './lib.ts';

const SIZE = 64 * 1024 * 1024;
const PIECE = 1024 * 1024;
const words = new Uint32Array(SIZE / 4);
let s = 12345;
for (let i = 0; i < words.length; i++) {
  s ^= s << 13;
  s ^= s >>> 17;
  s ^= s << 5;
  words[i] = s;
}
const data = new Uint8Array(words.buffer);

let chunks = 0;
const value = await measureMBps(() => {
  const c = new Chunker();
  let n = 0;
  for (let o = 0; o < SIZE; o += PIECE) n += c.push(data.subarray(o, o + PIECE)).length;
  chunks = n + c.finish().length;
}, SIZE);
const xor = await xorBaseline();
emit({ bench: 'fastcdc', value: Math.round(value), unit: 'MB/s', vsXor: Number((value / xor).toFixed(3)), xorMBps: Math.round(xor), chunks, meanChunkBytes: Math.round(SIZE / chunks) });
