/**
 * A pool of pipeline workers, sized from `navigator.hardwareConcurrency`. Each worker is wrapped
 * with comlink; jobs go to the worker with the fewest jobs in flight.
 */
import { wrap, type Endpoint, type Remote } from 'comlink';
import type { PipelineWorkerApi } from './protocol.ts';

/** Most workers a pool starts: beyond this, more threads only add memory (each holds a pack). */
export const MAX_POOL_WORKERS = 8;

/** Workers a pool should have on this device: one per logical core, within [1, MAX_POOL_WORKERS]. */
export function defaultPoolSize(): number {
  const cores = typeof navigator !== 'undefined' ? navigator.hardwareConcurrency : 0;
  return Math.max(1, Math.min(MAX_POOL_WORKERS, cores || 2));
}

/** One pooled worker. */
export interface PooledWorker {
  readonly api: Remote<PipelineWorkerApi>;
  /** Jobs sent and not yet answered. */
  inFlight: number;
}

/** What a pool needs of a worker: a comlink endpoint that can be terminated. */
export type WorkerLike = Endpoint & { terminate(): void };

/**
 * Creates the underlying worker; the default loads `pipeline.worker.ts` as a module Web Worker.
 * Benchmarks pass Node `worker_threads` wrapped with comlink's node adapter.
 */
export type WorkerFactory = () => WorkerLike;

const defaultFactory: WorkerFactory = () => new Worker(new URL('./pipeline.worker.ts', import.meta.url), { type: 'module', name: 'backpact-pipeline' });

/** A fixed set of pipeline workers. Call {@link close} when done. */
export class WorkerPool {
  readonly workers: readonly PooledWorker[];
  private readonly raw: WorkerLike[];

  constructor(size: number = defaultPoolSize(), factory: WorkerFactory = defaultFactory) {
    this.raw = Array.from({ length: Math.max(1, size) }, () => factory());
    this.workers = this.raw.map((w) => ({ api: wrap<PipelineWorkerApi>(w), inFlight: 0 }));
  }

  /** Number of workers. */
  get size(): number {
    return this.workers.length;
  }

  /** The worker with the fewest jobs in flight (ties: the first). */
  leastBusy(): PooledWorker {
    let best = this.workers[0]!;
    for (const w of this.workers) if (w.inFlight < best.inFlight) best = w;
    return best;
  }

  /** Runs `job` on `worker`, keeping its in-flight count. */
  async run<T>(worker: PooledWorker, job: (api: Remote<PipelineWorkerApi>) => Promise<T>): Promise<T> {
    worker.inFlight++;
    try {
      return await job(worker.api);
    } finally {
      worker.inFlight--;
    }
  }

  /** Runs `job` on every worker and waits for all. */
  all<T>(job: (api: Remote<PipelineWorkerApi>) => Promise<T>): Promise<T[]> {
    return Promise.all(this.workers.map((w) => this.run(w, job)));
  }

  /** Terminates every worker. */
  close(): void {
    for (const w of this.raw) w.terminate();
  }
}
