/**
 * The pipeline workers in real Chromium: a 64 MiB file is backed up through the worker pool
 * (chunk, seal, pack, Reed-Solomon, Merkle), m shards of every pack are dropped, and the restore
 * through the pool gives back the same bytes.
 */
import type { RoundTripResult, WorkerHarness } from '../src/e2e-harness/workers.ts';
import { expect, test } from './fixtures.ts';

const MiB = 1024 * 1024;

for (const [k, m] of [[4, 2], [3, 3]] as const) {
  test(`a 64 MiB file survives losing ${m} shards of every pack (k=${k}, m=${m}) through the worker pool`, async ({ harnessPage }) => {
    test.setTimeout(180_000);
    const info = await harnessPage.evaluate(() => (globalThis.backpactHarness.workers as WorkerHarness).poolInfo());
    expect(info.poolSize).toBeGreaterThanOrEqual(1);
    expect(info.poolSize).toBeLessThanOrEqual(Math.max(1, info.hardwareConcurrency));

    const r: RoundTripResult = await harnessPage.evaluate(
      ([size, dataCount, parityCount]) => (globalThis.backpactHarness.workers as WorkerHarness).encodeDecodeRoundTrip(size, dataCount, parityCount),
      [64 * MiB, k, m] as const,
    );
    test.info().annotations.push({ type: 'timings', description: `encode ${r.encodeMBps} MB/s, decode ${r.decodeMBps} MB/s, ${r.packs} packs, pool of ${r.poolSize}` });
    expect(r.inputSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(r.outputSha256).toBe(r.inputSha256);
    expect(r.sizeBytes).toBe(64 * MiB);
    // 64 MiB in packs of at most 8 MiB, with chunks of ~1 MiB.
    expect(r.packs).toBeGreaterThanOrEqual(8);
    expect(r.chunks).toBeGreaterThanOrEqual(32);
    expect(r.droppedShards).toBe(r.packs * m);
    expect(r.droppedDataShards).toBeGreaterThan(0);
  });
}
