/**
 * The pipeline worker's API object: a thin wrapper around `src/core/pipeline` that keeps
 * per-worker state and transfers byte arrays instead of copying them. Separate from the worker
 * entry (`./pipeline.worker.ts`) so the same code can be exposed over any comlink endpoint, e.g. a
 * Node `worker_threads` port in benchmarks.
 */
import { transfer } from 'comlink';
import { crc32 } from '../core/backup/zip.ts';
import { merkleRoot } from '../core/merkle/index.ts';
import { BufferPool } from '../core/pack/buffers.ts';
import { PackDecoder, PackEncoder, type EncodedPack } from '../core/pipeline/index.ts';
import { buffersOf, type PipelineWorkerApi } from './protocol.ts';

function need<T>(value: T | null, what: string): T {
  if (value === null) throw new Error(`pipeline worker: call ${what} first`);
  return value;
}

/**
 * A fresh API object with its own encoder and decoder state. Encoder calls are serialised: comlink
 * delivers calls as they arrive, and batches must reach the pack builder whole and in order.
 */
export function createPipelineApi(): PipelineWorkerApi {
  let encoder: PackEncoder | null = null;
  let decoder: PackDecoder | null = null;
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(job: () => Promise<T>): Promise<T> => {
    const run = queue.then(job, job);
    queue = run.catch(() => undefined);
    return run;
  };
  return {
    initEncoder(keys, options) {
      return serial(async () => {
        // A pool per backup: a few pack buffers circulate between this worker and the page.
        encoder = await PackEncoder.create(keys, options, new BufferPool());
      });
    },

    async recycle(buffers) {
      for (const b of buffers) encoder?.release(b);
    },

    addChunks(chunks) {
      return serial(async () => {
        const packs: EncodedPack[] = await need(encoder, 'initEncoder').addBatch(chunks);
        return transfer(packs, buffersOf(packs.flatMap((p) => p.shards)));
      });
    },

    flush() {
      return serial(async () => {
        const pack = await need(encoder, 'initEncoder').flush();
        return pack ? transfer(pack, buffersOf(pack.shards)) : null;
      });
    },

    async initDecoder(keys) {
      decoder = await PackDecoder.create(keys);
    },

    async decodePack(job) {
      const dec = need(decoder, 'initDecoder');
      const pack = await dec.openPack(job.shards, job.ref);
      const ids = job.chunkIds.length > 0 ? job.chunkIds : pack.entries.map((e) => e.id);
      const chunks = [];
      for (const id of ids) {
        const data = await dec.chunk(pack, id);
        chunks.push(job.crc ? { id, data, crc: crc32(data) } : { id, data });
      }
      return transfer({ packId: pack.packId, chunks }, buffersOf(chunks.map((c) => c.data)));
    },

    async merkleRoot(bytes) {
      const root = merkleRoot(bytes);
      return transfer({ bytes, root }, buffersOf([bytes, root]));
    },
  };
}
