/**
 * The worker layer in Node: the real pipeline API exposed over real MessageChannel ports (what a
 * Web Worker's postMessage does, minus the thread), driven by the real pool, backup and restore
 * code. Chromium runs the same path with Web Workers in e2e/workers.spec.ts.
 */
import { MessageChannel } from 'node:worker_threads';
import { expose, type Endpoint } from 'comlink';
import { describe, expect, it } from 'vitest';
import { bytesEqual } from '../core/encoding/bytes.ts';
import { NotEnoughShardsError } from '../core/errors.ts';
import type { ChunkId } from '../core/ids.ts';
import { deriveUserKeys } from '../core/keys/derive.ts';
import type { EncodedPack } from '../core/pipeline/index.ts';
import { StreamingEncoder } from './backup.ts';
import { createPipelineApi } from './pipeline-api.ts';
import { WorkerPool, type WorkerLike } from './pool.ts';
import { assembleFile, decodePacks, startRestore } from './restore.ts';

const KEYS = deriveUserKeys(new Uint8Array(64).fill(3));

function inProcessWorker(): WorkerLike {
  const { port1, port2 } = new MessageChannel();
  expose(createPipelineApi(), port2 as unknown as Endpoint);
  return Object.assign(port1 as unknown as Endpoint, {
    terminate: () => {
      port1.close();
      port2.close();
    },
  });
}

function prng(length: number, seed: number): Uint8Array {
  const w = new Uint32Array(Math.ceil(length / 4));
  let s = seed;
  for (let i = 0; i < w.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    w[i] = s;
  }
  return new Uint8Array(w.buffer, 0, length);
}

function* pieces(data: Uint8Array, size: number): Generator<Uint8Array> {
  for (let o = 0; o < data.length; o += size) yield data.subarray(o, o + size);
}

describe('worker pool', () => {
  it('backs up two files through the pool and restores them after losing m shards per pack', async () => {
    const pool = new WorkerPool(2, inProcessWorker);
    try {
      const files = [prng(20 * 1024 * 1024 + 5, 11), prng(3 * 1024 * 1024, 12)];
      const packs: EncodedPack[] = [];
      const backup = await StreamingEncoder.start(pool, KEYS, { dataCount: 3, parityCount: 2, packTargetBytes: 4 * 1024 * 1024 }, [], (p) => void packs.push(p));
      const results = [];
      for (const f of files) results.push(await backup.addFile(pieces(f, 300_000)));
      await backup.finish();
      expect(packs.length).toBeGreaterThanOrEqual(5);
      const stored = packs.flatMap((p) => p.entries.map((e) => e.id));
      expect(new Set(stored).size).toBe(stored.length);
      for (const r of results) for (const id of r.chunks) expect(stored).toContain(id);

      await startRestore(pool, KEYS);
      const chunks = new Map<ChunkId, Uint8Array>();
      const jobs = packs.map((p, i) => ({
        shards: p.shards.map((s, j) => (j === i % 5 || j === (i + 2) % 5 ? null : s)),
        ref: { packId: p.packId, length: p.length, dataCount: p.dataCount, merkleRoots: p.merkleRoots },
        chunkIds: [] as ChunkId[],
      }));
      await decodePacks(pool, jobs, (d) => {
        for (const c of d.chunks) chunks.set(c.id, c.data);
      });
      for (const [i, r] of results.entries()) expect(bytesEqual(assembleFile(r.chunks, chunks, r.size), files[i]!)).toBe(true);
    } finally {
      pool.close();
    }
  });

  it('takes released pack buffers back into the workers and keeps coding correct packs in them', async () => {
    const pool = new WorkerPool(2, inProcessWorker);
    try {
      const file = prng(24 * 1024 * 1024 + 17, 14);
      const copies: EncodedPack[] = [];
      let seen = 0;
      const backup: StreamingEncoder = await StreamingEncoder.start(pool, KEYS, { dataCount: 2, parityCount: 1, packTargetBytes: 2 * 1024 * 1024 }, [], (p) => {
        seen++;
        copies.push({ ...p, shards: p.shards.map((s) => s.slice()) });
        backup.release(p);
        // Transferred back to its worker: nothing of it is readable here any more.
        expect(p.shards.every((s) => s.length === 0)).toBe(true);
      });
      const info = await backup.addFile(pieces(file, 1024 * 1024));
      await backup.finish();
      expect(seen).toBeGreaterThan(8);

      await startRestore(pool, KEYS);
      const chunks = new Map<ChunkId, Uint8Array>();
      const jobs = copies.map((p, i) => ({
        shards: p.shards.map((s, j) => (j === i % 3 ? null : s)),
        ref: { packId: p.packId, length: p.length, dataCount: p.dataCount, merkleRoots: p.merkleRoots },
        chunkIds: [] as ChunkId[],
      }));
      await decodePacks(pool, jobs, (d) => {
        for (const c of d.chunks) chunks.set(c.id, c.data);
      });
      expect(bytesEqual(assembleFile(info.chunks, chunks, info.size), file)).toBe(true);
    } finally {
      pool.close();
    }
  });

  it('reports a pack that cannot be rebuilt with a typed error', async () => {
    const pool = new WorkerPool(1, inProcessWorker);
    try {
      const packs: EncodedPack[] = [];
      const backup = await StreamingEncoder.start(pool, KEYS, { dataCount: 2, parityCount: 1 }, [], (p) => void packs.push(p));
      await backup.addFile([prng(100_000, 13)]);
      await backup.finish();
      const [pack] = packs;
      await startRestore(pool, KEYS);
      const job = { shards: [pack!.shards[0]!, null, null], ref: { packId: pack!.packId, length: pack!.length, dataCount: 2 }, chunkIds: [] as ChunkId[] };
      await expect(decodePacks(pool, [job], () => undefined)).rejects.toMatchObject({ name: NotEnoughShardsError.name });
    } finally {
      pool.close();
    }
  });
});
