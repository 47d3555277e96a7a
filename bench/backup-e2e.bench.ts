/**
 * Backup and restore end to end in Chromium, owner + 3 partners (separate contexts), the real app
 * driven through `backpactDebug`:
 *
 * - `backup-e2e`: MB/s of shard bytes acknowledged by the 3 partners while backing up
 *   `BENCH_BACKUP_MIB` (default 192) MiB of random data; `userMBps` = file bytes per second;
 * - `rebackup-unchanged`: the same files again (nothing new to send): MB/s of file bytes;
 * - `restore-e2e`: MB/s of shard bytes fetched from the partners while a new device restores
 *   everything (fetch, verify, decode, store in IndexedDB, ready to save); `userMBps` likewise;
 * - `datachannel-raw`: plain data channels from one page to 3 at once, same browser, same run;
 *   `vsRaw` = MB/s / this;
 * - `datachannel-raw-receive`: the same channels with the 3 pages sending to the one at once (the
 *   direction a restore's bytes flow); `restore-e2e` also reports `vsRawReceive` = MB/s / this.
 *
 * With 3 browser partners the coding is plain replication (k = 1, m = 2): each file byte is sent
 * three times on backup, and fetched once on restore.
 */
import { backUp, generateTree, waitForBackupServices, waitForSnapshots, type DebugGlobal } from '../e2e/helpers/backup.ts';
import { restoreIdentity } from '../e2e/helpers/onboarding.ts';
import { openBackupBench, rawChannelMBps } from './backup-browser.ts';
import { emit } from './lib.ts';
import { round1 } from './p2p-browser.ts';

const MiB = 1024 * 1024;
const TOTAL_MIB = Number(process.env.BENCH_BACKUP_MIB ?? 192);
const FILES = 8;
const mbps = (bytes: number, ms: number): number => bytes / 1e6 / (ms / 1000);

const bench = await openBackupBench(['Ana', 'Ben', 'Cleo']);
try {
  const page = bench.owner.page;
  // Warm-up: SCTP is several times slower on fresh channels.
  await generateTree(page, [{ path: 'warmup.bin', kind: 'file', size: 16 * MiB, content: 'random', seed: 99 }], { hash: false });
  await backUp(page);

  const spec = Array.from({ length: FILES }, (_, i) => ({ path: `data/file-${i}.bin`, kind: 'file' as const, size: (TOTAL_MIB / FILES) * MiB, content: 'random' as const, seed: i + 1 }));
  const files = spec.reduce((n, e) => n + e.size, 0);
  await page.evaluate(() => (globalThis as unknown as DebugGlobal).backpactTestFiles!.clear());
  await generateTree(page, spec, { hash: false });
  let t0 = performance.now();
  const full = await backUp(page);
  let ms = performance.now() - t0;
  const backupMBps = mbps(full.sentBytes, ms);
  const backupLine = { bench: 'backup-e2e', value: round1(backupMBps), unit: 'MB/s', userMBps: round1(mbps(files, ms)), partners: 3, mib: TOTAL_MIB, ms: Math.round(ms) };

  t0 = performance.now();
  const again = await backUp(page);
  ms = performance.now() - t0;
  if (again.newBytes !== 0) throw new Error(`unchanged files sent ${again.newBytes} new bytes`);
  emit({ bench: 'rebackup-unchanged', value: round1(mbps(files, ms)), unit: 'MB/s', shardBytesSent: again.sentBytes, mib: TOTAL_MIB, ms: Math.round(ms) });

  // A new device restores the latest snapshot (the owner's device is gone).
  await bench.owner.context.close();
  const device = await bench.device();
  await restoreIdentity(device.page, bench.phrase, 'Olivia');
  await waitForBackupServices(device.page);
  const snapshots = await waitForSnapshots(device.page);
  const snapshot = snapshots[0];
  const r = await device.page.evaluate(async ([sid, warmup]) => {
    const b = (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!;
    // Warm-up, as for the backup and the raw channels: the new device's links are fresh, and SCTP
    // is several times slower on fresh channels. The warm-up snapshot (16 MiB) shares no pack with
    // the one measured.
    const warm = await b.restore.start(warmup as never, []);
    await b.restore.whenReady(warm);
    await b.restore.plan(sid as never, []);
    const before = b.restore.counters.bytes;
    const beforeBy: Record<string, number> = { ...b.restore.counters.bytesByHolder };
    const t = performance.now();
    const job = await b.restore.start(sid as never, []);
    await b.restore.whenReady(job);
    const byHolder = Object.entries(b.restore.counters.bytesByHolder).map(([h, n]) => n - (beforeBy[h] ?? 0)).sort((x, y) => y - x);
    return { ms: performance.now() - t, bytes: b.restore.counters.bytes - before, byHolder };
  }, [snapshot!, snapshots.at(-1)!] as const);
  await device.context.close();

  const raw = await rawChannelMBps(bench, 3, 64);
  emit({ bench: 'datachannel-raw', value: round1(raw), unit: 'MB/s', partners: 3, mibPerPartner: 64 });
  const rawReceive = await rawChannelMBps(bench, 3, 64, 'receive');
  emit({ bench: 'datachannel-raw-receive', value: round1(rawReceive), unit: 'MB/s', partners: 3, mibPerPartner: 64 });
  emit({ ...backupLine, vsRaw: Math.round((backupMBps / raw) * 100) / 100 });
  const restoreMBps = mbps(r.bytes, r.ms);
  emit({ bench: 'restore-e2e', value: round1(restoreMBps), unit: 'MB/s', userMBps: round1(mbps(files, r.ms)), vsRaw: Math.round((restoreMBps / raw) * 100) / 100, vsRawReceive: Math.round((restoreMBps / rawReceive) * 100) / 100, partners: 3, mib: TOTAL_MIB, ms: Math.round(r.ms),
    // Share of the shard bytes each holder served (largest first): how evenly the restore spread.
    holderShares: r.byHolder.map((n) => Math.round((n / r.bytes) * 100) / 100) });
} finally {
  await bench.close();
}
