/**
 * A/B of the restore on one set-up (owner + 3 partners, one backup), for comparing builds on this
 * noisy machine: `BENCH_AB` = `name=dir,name=dir` lists built apps (dist directories). Each round
 * serves one build (every page reloaded, the partners too), restores everything on a new device,
 * then measures `datachannel-raw-receive`; builds alternate round by round
 * (`BENCH_AB_ROUNDS` rounds each, default 3). Prints one `restore-ab` line per round.
 * `BENCH_AB_CPU=1` adds the CPU seconds of every Chromium thread (by process and thread name)
 * during the restore (`cpu`) and during the raw measurement (`rawCpu`: 3 × (16 + 64) MiB, with its
 * set-up). Without `BENCH_AB` it does nothing.
 */
import { chromium, type Page } from '@playwright/test';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromiumLaunchOptions, deviceContextOptions } from '../e2e/browser.ts';
import type { Peer } from '../e2e/fixtures.ts';
import { backUp, generateTree, ownerWithPartners, waitForBackupServices, waitForSnapshots, type DebugGlobal } from '../e2e/helpers/backup.ts';
import { restoreIdentity } from '../e2e/helpers/onboarding.ts';
import { startServerProcess } from '../e2e/server.ts';
import { rawChannelMBps, type BackupBench } from './backup-browser.ts';
import { emit } from './lib.ts';
import { round1 } from './p2p-browser.ts';

const spec = process.env.BENCH_AB ?? '';
if (spec === '') process.exit(0);
const builds = spec.split(',').map((s) => {
  const [name, dir] = s.split('=') as [string, string];
  return { name, dir };
});
const ROUNDS = Number(process.env.BENCH_AB_ROUNDS ?? 3);
const MiB = 1024 * 1024;
const TOTAL_MIB = Number(process.env.BENCH_BACKUP_MIB ?? 192);
const mbps = (bytes: number, ms: number): number => bytes / 1e6 / (ms / 1000);

/** CPU ticks of every Chromium thread: `pid/tid` → process type, thread name, ticks. */
function cpuSnapshot(): Map<string, { proc: string; thread: string; ticks: number }> {
  const out = new Map<string, { proc: string; thread: string; ticks: number }>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (!cmd.includes('chrom')) continue;
    const type = /--type=([a-z-]+)/.exec(cmd)?.[1] ?? 'browser';
    const sub = /--utility-sub-type=([\w.]+)/.exec(cmd)?.[1];
    const proc = `${type}${sub ? `:${sub.split('.')[0]}` : ''}:${pid}`;
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        out.set(`${pid}/${tid}`, { proc, thread: comm.replace(/\d+$/, '#'), ticks: Number(f[11]) + Number(f[12]) });
      } catch {
        // thread ended
      }
    }
  }
  return out;
}

/** Seconds of CPU by process and by thread name between two snapshots (largest first). */
function cpuDiff(a: ReturnType<typeof cpuSnapshot>, b: ReturnType<typeof cpuSnapshot>): Record<string, number> {
  const by = new Map<string, number>();
  for (const [k, v] of b) {
    const d = v.ticks - (a.get(k)?.ticks ?? 0);
    if (d <= 0) continue;
    const key = `${v.proc} ${v.thread}`;
    by.set(key, (by.get(key) ?? 0) + d);
  }
  return Object.fromEntries([...by].sort((x, y) => y[1] - x[1]).filter(([, t]) => t >= 5).map(([k, t]) => [k, t / 100]));
}

const tmp = mkdtempSync(join(tmpdir(), 'restore-ab-'));
const current = join(tmp, 'dist');
const serve = (dir: string): void => {
  const next = join(tmp, 'next');
  rmSync(next, { force: true });
  symlinkSync(dir, next);
  renameSync(next, current);
};
serve(builds[0]!.dir);

const server = await startServerProcess({ STATIC_DIR: current });
const browser = await chromium.launch(chromiumLaunchOptions());
async function device(url = server.info.url): Promise<Peer> {
  const context = await browser.newContext(deviceContextOptions());
  const page = await context.newPage();
  page.on('pageerror', (err) => process.stderr.write(`# page error: ${err.message}\n`));
  await page.goto(url);
  return { context, page };
}
try {
  const owner = await device();
  const partners = [await device(), await device(), await device()];
  const phrase = await ownerWithPartners(owner, partners, ['Ana', 'Ben', 'Cleo']);
  const page: Page = owner.page;
  const files = Array.from({ length: 8 }, (_, i) => ({ path: `data/file-${i}.bin`, kind: 'file' as const, size: (TOTAL_MIB / 8) * MiB, content: 'random' as const, seed: i + 1 }));
  await generateTree(page, files, { hash: false });
  await backUp(page);
  await owner.context.close();
  const bench = { server, browser, owner, partners, phrase, device: () => device(), close: async () => undefined } as BackupBench;

  for (let round = 0; round < ROUNDS; round++) {
    for (const b of builds) {
      serve(b.dir);
      for (const p of partners) {
        await p.page.reload();
        await waitForBackupServices(p.page);
      }
      const d = await device();
      await restoreIdentity(d.page, phrase, 'Olivia');
      await waitForBackupServices(d.page);
      const [snapshot] = await waitForSnapshots(d.page);
      // BENCH_AB_DELAY_MS: let the new device settle (links warm, start-up work done) first.
      if (process.env.BENCH_AB_DELAY_MS) await d.page.waitForTimeout(Number(process.env.BENCH_AB_DELAY_MS));
      const cpu0 = cpuSnapshot();
      const r = await d.page.evaluate(async (sid) => {
        const bk = (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!;
        await bk.restore.plan(sid as never, []);
        const before = bk.restore.counters.bytes;
        const t = performance.now();
        // MB/s over each half second of the restore (shows the start and the links' warm-up).
        // Bytes the links to the holders received, per half second (frames as they arrive).
        const perSecond: number[] = [];
        let last = bk.partners.all().reduce((n, p) => n + (bk.partners.link(p.peerId)?.stats.bytesReceived ?? 0), 0);
        const timer = setInterval(() => {
          const now = bk.partners.all().reduce((n, p) => n + (bk.partners.link(p.peerId)?.stats.bytesReceived ?? 0), 0);
          perSecond.push((now - last) * 2);
          last = now;
        }, 500);
        // Longest stall of this page's thread in each half second (a 50 ms timer's lateness).
        const lag: number[] = [];
        let worst = 0;
        let tick = performance.now();
        const lagTimer = setInterval(() => {
          const now = performance.now();
          worst = Math.max(worst, now - tick - 50);
          tick = now;
        }, 50);
        const lagFlush = setInterval(() => {
          lag.push(Math.round(worst));
          worst = 0;
        }, 500);
        const job = await bk.restore.start(sid as never, []);
        await bk.restore.whenReady(job);
        clearInterval(timer);
        clearInterval(lagTimer);
        clearInterval(lagFlush);
        return { ms: performance.now() - t, bytes: bk.restore.counters.bytes - before, corrupt: Object.keys(bk.restore.counters.corrupt).length, perSecond: perSecond.map((b) => Math.round(b / 1e5) / 10), lag };
      }, snapshot!);
      const cpu = cpuDiff(cpu0, cpuSnapshot());
      await d.context.close();
      const rawCpu0 = cpuSnapshot();
      const rawReceive = await rawChannelMBps(bench, 3, 64, 'receive');
      const rawCpu = cpuDiff(rawCpu0, cpuSnapshot());
      const v = mbps(r.bytes, r.ms);
      emit({ bench: 'restore-ab', build: b.name, round, value: round1(v), unit: 'MB/s', rawReceive: round1(rawReceive), vsRawReceive: Math.round((v / rawReceive) * 100) / 100, ms: Math.round(r.ms), corrupt: r.corrupt, mbpsByHalfSecond: r.perSecond, mainThreadStallMs: r.lag, ...(process.env.BENCH_AB_CPU ? { cpu, rawCpu } : {}) });
    }
  }
} finally {
  await browser.close();
  await server.stop();
  rmSync(tmp, { recursive: true, force: true });
}
