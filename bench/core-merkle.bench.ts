/**
 * Merkle root throughput (`merkle`), MB/s of shard bytes: roots of 4 MiB shards over 1 KiB leaves
 * with tagged SHA-256, one core. Extra: `sha256MBps` of the same SHA-256 code on 4 MiB messages,
 * and `nobleMBps` of @noble/hashes' SHA-256 for comparison.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { Sha256 } from '../src/core/crypto/sha256.ts';
import { merkleRoot } from '../src/core/merkle/index.ts';
import { emit, measureMBps, xorBaseline } from './lib.ts';

const SHARD = 4 * 1024 * 1024;
const COUNT = 4;
const shards = Array.from({ length: COUNT }, (_, i) => {
  const w = new Uint32Array(SHARD / 4);
  let s = i + 1;
  for (let j = 0; j < w.length; j++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    w[j] = s;
  }
  return new Uint8Array(w.buffer);
});

const value = await measureMBps(() => {
  for (const s of shards) merkleRoot(s);
}, COUNT * SHARD);
const h = new Sha256();
const sha = await measureMBps(() => {
  for (const s of shards) h.reset().update(s).digest();
}, COUNT * SHARD);
const noble = await measureMBps(() => {
  for (const s of shards) sha256(s);
}, COUNT * SHARD);
const xor = await xorBaseline();
emit({
  bench: 'merkle', value: Math.round(value), unit: 'MB/s', vsXor: Number((value / xor).toFixed(3)), xorMBps: Math.round(xor),
  shardBytes: SHARD, leafBytes: 1024, sha256MBps: Math.round(sha), nobleMBps: Math.round(noble),
});
