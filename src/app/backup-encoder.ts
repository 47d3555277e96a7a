/**
 * Encoding for a backup through the worker pool, handing each pack on as soon as a worker has
 * coded it. `PoolBackup` (src/workers) collects every pack until the end, which is right for a
 * benchmark but not for a backup of any size; this driver uses the same public pool API and the
 * same division of work (this thread chunks and identifies, the workers seal, pack, code and
 * hash), and bounds memory: a batch counts as pending until the packs it produced were accepted
 * by `onPack`, and at most {@link MAX_PENDING_PER_WORKER} batches per worker are pending.
 */
import { transfer } from 'comlink';
import type { ChunkId } from '../core/ids.ts';
import { ChunkStage, type EncodedPack, type EncoderKeys, type FoundChunk, type PackEncoderOptions } from '../core/pipeline/index.ts';
import type { WorkerPool } from '../workers/pool.ts';
import { buffersOf, type ChunkJob } from '../workers/protocol.ts';

/** Batches per worker not yet handed on (back-pressure from the upload to the reader). */
export const MAX_PENDING_PER_WORKER = 2;
/** Plaintext bytes per batch sent to a worker. */
export const BATCH_BYTES = 4 * 1024 * 1024;

/** One file's result. */
export interface EncodedFileInfo {
  readonly chunks: ChunkId[];
  readonly size: number;
  /** Plaintext bytes of chunks new to this backup (sent to the workers). */
  readonly newBytes: number;
}

/** Reads a Blob as a stream of pieces, never the whole file at once. */
async function* piecesOf(blob: Blob, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const reader = blob.stream().getReader();
  try {
    for (;;) {
      signal?.throwIfAborted();
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** One backup run's encoder. Call {@link finish} once every file was added. */
export class StreamingEncoder {
  private readonly pending = new Set<Promise<void>>();
  private batch: ChunkJob[] = [];
  private batchBytes = 0;
  private failure: { error: unknown } | null = null;

  private constructor(
    private readonly pool: WorkerPool,
    private readonly stage: ChunkStage,
    private readonly onPack: (pack: EncodedPack) => Promise<void>,
  ) {}

  /**
   * Sets up every worker's encoder. `known` lists chunk ids already stored (they are not sent
   * again); `onPack` receives each coded pack and may wait (back-pressure) before resolving.
   */
  static async start(
    pool: WorkerPool, keys: EncoderKeys, options: PackEncoderOptions, known: Iterable<ChunkId>, onPack: (pack: EncodedPack) => Promise<void>,
  ): Promise<StreamingEncoder> {
    await pool.all((api) => api.initEncoder(keys, options));
    return new StreamingEncoder(pool, await ChunkStage.create(keys, known), onPack);
  }

  /** Chunks one file; `onBytes` gets the count of bytes read so far in it. */
  async addFile(file: Blob, signal?: AbortSignal, onBytes?: (read: number) => void): Promise<EncodedFileInfo> {
    const chunks: ChunkId[] = [];
    let size = 0;
    let newBytes = 0;
    let read = 0;
    const take = async (found: FoundChunk[]): Promise<void> => {
      for (const c of found) {
        chunks.push(c.id);
        size += c.length;
        if (c.data) {
          newBytes += c.length;
          await this.queue({ data: c.data, idBytes: c.idBytes });
        }
      }
    };
    for await (const piece of piecesOf(file, signal)) {
      read += piece.length;
      await take(await this.stage.push(piece));
      onBytes?.(read);
    }
    await take(await this.stage.endFile());
    return { chunks, size, newBytes };
  }

  private async queue(job: ChunkJob): Promise<void> {
    this.batch.push(job);
    this.batchBytes += job.data.length;
    if (this.batchBytes >= BATCH_BYTES) await this.send();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  private async send(): Promise<void> {
    this.throwIfFailed();
    if (this.batch.length === 0) return;
    while (this.pending.size >= this.pool.size * MAX_PENDING_PER_WORKER) {
      await Promise.race(this.pending);
      this.throwIfFailed();
    }
    const jobs = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    const worker = this.pool.leastBusy();
    const p = this.pool
      .run(worker, (api) => api.addChunks(transfer(jobs, buffersOf(jobs.map((j) => j.data)))))
      .then(async (packs) => {
        for (const pack of packs) await this.onPack(pack);
      })
      .catch((error: unknown) => void (this.failure ??= { error }));
    const tracked: Promise<void> = p.finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  /** Sends the last batch, flushes every worker's open pack and waits until all were handed on. */
  async finish(): Promise<void> {
    await this.send();
    await Promise.all(this.pending);
    this.throwIfFailed();
    const last = await this.pool.all((api) => api.flush());
    for (const p of last) if (p) await this.onPack(p);
  }

  /** Waits for work in flight to settle (after a failure or cancel), ignoring its outcome. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}
