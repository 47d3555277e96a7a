/**
 * Chunk encryption throughput (`aes-gcm`), MB/s of plaintext: sealing 1 MiB chunks exactly as the
 * pipeline does — per-chunk key (HKDF from the data key), WebCrypto import, AES-256-GCM, versioned
 * envelope. Extra fields: `rawMBps` (WebCrypto AES-GCM alone, one imported key, same sizes) and
 * `openMBps` (decrypt + verify the tag + recompute the HMAC chunk id).
 */
import { ChunkCipher } from '../src/core/crypto/chunk.ts';
import { emit, measureMBps, xorBaseline } from './lib.ts';

const CHUNK = 1024 * 1024;
const COUNT = 32;
const chunks = Array.from({ length: COUNT }, (_, i) => {
  const w = new Uint32Array(CHUNK / 4);
  let s = i + 1;
  for (let j = 0; j < w.length; j++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    w[j] = s;
  }
  return new Uint8Array(w.buffer);
});
const cipher = await ChunkCipher.create({ dataKey: new Uint8Array(32).fill(1), dedupKey: new Uint8Array(32).fill(2) });
const ids = await Promise.all(chunks.map((c) => cipher.idBytes(c)));

const value = await measureMBps(async () => {
  for (let i = 0; i < COUNT; i++) await cipher.sealWithId(chunks[i]!, ids[i]!);
}, COUNT * CHUNK);

const key = await crypto.subtle.importKey('raw', new Uint8Array(32), { name: 'AES-GCM' }, false, ['encrypt']);
const iv = new Uint8Array(12);
const raw = await measureMBps(async () => {
  for (const c of chunks) await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, c);
}, COUNT * CHUNK);

const sealed = await Promise.all(chunks.map((c, i) => cipher.sealWithId(c, ids[i]!)));
const openMBps = await measureMBps(async () => {
  for (const c of sealed) await cipher.open(c.id, c.envelope);
}, COUNT * CHUNK);

const xor = await xorBaseline();
emit({
  bench: 'aes-gcm', value: Math.round(value), unit: 'MB/s', vsXor: Number((value / xor).toFixed(3)), xorMBps: Math.round(xor),
  chunkBytes: CHUNK, rawMBps: Math.round(raw), openMBps: Math.round(openMBps),
});
