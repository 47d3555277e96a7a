/**
 * Memory stays bounded whatever the file size: the owner backs up one 1 GiB file (random, so
 * every byte is new) to one partner, while the owner page's JavaScript heap plus ArrayBuffer
 * backing stores (CDP `Runtime.getHeapUsage`) is sampled every 100 ms. `value` is the peak in
 * MiB; `baselineMiB` the same measure just before the backup started. Pass: peak well under the
 * file size (the pipeline holds a few packs: upload window, worker batches, chunker).
 * `BENCH_HEAP_MIB` changes the file size.
 */
import { backUp, generateTree, type DebugGlobal } from '../e2e/helpers/backup.ts';
import { openBackupBench } from './backup-browser.ts';
import { emit } from './lib.ts';
import { round1 } from './p2p-browser.ts';

const MiB = 1024 * 1024;
const SIZE_MIB = Number(process.env.BENCH_HEAP_MIB ?? 1024);

const bench = await openBackupBench(['Ana']);
try {
  const page = bench.owner.page;
  await generateTree(page, [{ path: 'big.bin', kind: 'file', size: SIZE_MIB * MiB, content: 'random', seed: 5 }], { hash: false });
  const cdp = await page.context().newCDPSession(page);
  const usage = async (): Promise<number> => {
    await cdp.send('HeapProfiler.collectGarbage').catch(() => undefined);
    const u = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number; backingStorageSize?: number };
    return (u.usedSize + (u.backingStorageSize ?? 0)) / MiB;
  };
  const baseline = await usage();
  const hasBacking = 'backingStorageSize' in ((await cdp.send('Runtime.getHeapUsage')) as object);
  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const u = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number; backingStorageSize?: number };
      peak = Math.max(peak, (u.usedSize + (u.backingStorageSize ?? 0)) / MiB);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const t0 = performance.now();
  const result = await backUp(page);
  const ms = performance.now() - t0;
  sampling = false;
  await sampler;
  const held = await bench.partners[0]!.page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((r) => { const q = indexedDB.open('backpact'); q.onsuccess = () => r(q.result); });
    return new Promise<number>((r) => { const g = db.transaction('held').objectStore('held').count(); g.onsuccess = () => r(g.result); });
  });
  void (globalThis as unknown as Partial<DebugGlobal>);
  emit({
    bench: 'backup-1gib-heap', value: round1(peak), unit: 'MiB', baselineMiB: round1(baseline), fileMiB: SIZE_MIB,
    backingStoreMeasured: hasBacking, shardsHeld: held, sentMiB: round1(result.sentBytes / MiB), ms: Math.round(ms),
  });
} finally {
  await bench.close();
}
