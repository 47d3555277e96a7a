/**
 * Periodic backups of a remembered folder, through the real UI and the real File System Access
 * API: the picker is replaced by one that returns a real directory handle of the origin-private
 * file system, and the "Back up a folder regularly" button remembers it like a picked folder.
 * The first run starts at once; the folder is remembered across reloads; a run happens when the
 * scheduler's clock says it is due, and sends only what changed; a run cut short by a reload
 * resumes by itself; after the browser forgets the permission, the due run waits until the
 * person allows reading again, and a refused permission is said plainly; a folder run asked for during a manual backup waits for it; a
 * forgotten folder stays forgotten; the last snapshot restores byte-identical on a new device.
 */
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures.ts';
import {
  type DebugGlobal, generateTree, ownerWithPartners, restoreAndSave, restoreOnNewDevice, type TreeSpec, waitForBackupServices, waitForSnapshots, zipHashes,
} from './helpers/backup.ts';
import {
  advanceFolderClock, denyFolderPermission, folderChecks, forgetFolderPermission, opfsHashes, rememberedFolders, stubFolderPicker, waitForFolderRun, writeTreeToOpfs,
} from './helpers/folders.ts';

const MiB = 1024 * 1024;

async function open(page: Page, screen: 'Home' | 'Back up'): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: screen }).click();
}
const DAY = 24 * 3600_000;

test('a remembered folder is backed up on its schedule, resumes after a reload, waits for permission and restores', async ({ openPeers }) => {
  test.setTimeout(300_000);
  const [owner, ana, ben] = await openPeers(3);
  const phrase = await ownerWithPartners(owner, [ana, ben], ['Ana', 'Ben']);
  const page = owner.page;
  const spec: TreeSpec[] = [
    { path: 'Photos/beach.bin', kind: 'file', size: 2 * MiB + 12_345, content: 'random', seed: 1 },
    { path: 'Photos/notes.txt', kind: 'file', size: 30_000, content: 'text', seed: 2 },
    { path: 'Photos/2024/summer/sea.bin', kind: 'file', size: 1 * MiB + 999, content: 'random', seed: 3 },
    { path: 'Photos/empty', kind: 'directory' },
  ];
  await generateTree(page, spec, { hash: false });
  await writeTreeToOpfs(page);
  await stubFolderPicker(owner.context, page, 'Photos');

  // Remember the folder through the real button: the first run starts at once.
  await open(page, 'Back up');
  await page.getByRole('button', { name: 'Back up a folder regularly' }).click();
  const row = page.getByTestId('regular-folder').filter({ hasText: 'Photos' });
  await expect(row).toBeVisible();
  const first = await waitForFolderRun(page, 'Photos', null);
  expect(first.newBytes).toBe(spec.reduce((n, e) => n + (e.size ?? 0), 0));
  await expect(row.getByTestId('folder-status')).toHaveText(/^Next backup (today|tomorrow) at \d\d:\d\d\.$/);
  await expect(row.getByRole('combobox', { name: 'How often to back up Photos' })).toHaveValue('daily');
  await expect(row.getByRole('button', { name: 'Back up Photos now' })).toBeEnabled();
  await expect(row.getByRole('button', { name: 'Stop backing up Photos' })).toBeVisible();
  // The snapshot holds the folder's tree, paths starting with its name, the empty folder kept.
  const v1 = await opfsHashes(page, 'Photos');
  expect(Object.keys(v1).sort()).toEqual(['Photos/2024/summer/sea.bin', 'Photos/beach.bin', 'Photos/empty', 'Photos/notes.txt']);

  // Remembered across a reload, with no new run (not due yet); the dashboard shows the next run.
  await page.reload();
  await waitForBackupServices(page);
  await open(page, 'Home');
  await expect(page.getByTestId('next-backup')).toHaveText(/^Next backup: Photos, (today|tomorrow) at \d\d:\d\d\.$/);
  // The scheduler has looked at the folder since the start (once ready) and found nothing due.
  expect(await folderChecks(page)).toBeGreaterThanOrEqual(1);
  expect(await page.evaluate(() => (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.backup.progress.phase)).toBe('idle');
  expect(await rememberedFolders(page)).toEqual([expect.objectContaining({ name: 'Photos', state: 'idle', access: 'granted', snapshotId: first.snapshotId })]);
  expect(await waitForSnapshots(page)).toEqual([first.snapshotId]);

  // A file changes; a day later (the scheduler's clock moved on) the run happens by itself and
  // sends only the changed file's chunks.
  const changed = spec.filter((e) => e.path === 'Photos/2024/summer/sea.bin').map((e) => ({ ...e, seed: 33 }));
  await generateTree(page, changed, { hash: false });
  await writeTreeToOpfs(page, changed.map((e) => e.path));
  await advanceFolderClock(page, DAY + 60_000);
  const second = await waitForFolderRun(page, 'Photos', first.snapshotId);
  const changedBytes = changed[0]!.size!;
  const total = spec.reduce((n, e) => n + (e.size ?? 0), 0);
  expect(second.newBytes).toBe(changedBytes);
  // Two copies (two partners, replication) of the new chunks plus the manifest: far less than the tree.
  expect(second.sentBytes).toBeLessThan(2 * (changedBytes + 64 * 1024));
  expect(second.sentBytes).toBeLessThan(total);
  expect(second.queuedBytes).toBe(0);
  expect(await waitForSnapshots(page, 2)).toEqual([second.snapshotId, first.snapshotId]);

  // "Back up now" while a manual backup runs: the folder waits for it, then runs (never two at once).
  await open(page, 'Back up');
  await generateTree(page, [{ path: 'manual/big.bin', kind: 'file', size: 24 * MiB, content: 'random', seed: 60 }], { hash: false });
  await page.evaluate(() => {
    const g = globalThis as unknown as DebugGlobal & { manualRun?: Promise<string> };
    const f = g.backpactTestFiles!.get('manual/big.bin')!;
    g.manualRun = g.backpactDebug.runtime.backup!.backup.run([{ path: 'manual/big.bin', kind: 'file', file: f.file!, mtime: f.mtime }]);
  });
  await row.getByRole('button', { name: 'Back up Photos now' }).click();
  await expect(row).toHaveAttribute('data-state', 'queued');
  await expect(row.getByTestId('folder-status')).toHaveText('Waiting for the backup in progress to finish…');
  const manual = await page.evaluate(() => (globalThis as unknown as { manualRun: Promise<string> }).manualRun);
  const forced = await waitForFolderRun(page, 'Photos', second.snapshotId);
  expect(forced.newBytes).toBe(0);
  expect(await waitForSnapshots(page, 4)).toEqual([forced.snapshotId, manual, second.snapshotId, first.snapshotId]);

  // Big new files; the page reloads in the middle of the run: the run resumes by itself (no
  // picking again) and does not send again the packs placed before the reload.
  const big: TreeSpec[] = Array.from({ length: 4 }, (_, i) => ({ path: `Photos/video/part ${i}.bin`, kind: 'file' as const, size: 8 * MiB, content: 'random' as const, seed: 40 + i }));
  await generateTree(page, big, { hash: false });
  await writeTreeToOpfs(page, big.map((e) => e.path));
  await advanceFolderClock(page, 2 * DAY + 60_000);
  const journalCount = (): Promise<number> => page.evaluate(async () => (await (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.index.knownForBackup()).journal.length);
  await expect.poll(journalCount, { intervals: [20], timeout: 60_000 }).toBeGreaterThanOrEqual(1);
  await page.reload();
  await waitForBackupServices(page);
  await open(page, 'Back up');
  const resumed = await waitForFolderRun(page, 'Photos', forced.snapshotId);
  const bigBytes = big.reduce((n, e) => n + e.size!, 0);
  expect(resumed.newBytes).toBeLessThan(bigBytes);
  expect((await waitForSnapshots(page, 5)).slice(0, 2)).toEqual([resumed.snapshotId, forced.snapshotId]);
  await expect(page.getByTestId('backup-interrupted')).toHaveCount(0);

  // The browser forgets the permission (as after a restart): the due run waits, the dashboard
  // asks, and the run happens once the person allows reading.
  await forgetFolderPermission(owner.context);
  await page.reload();
  await waitForBackupServices(page);
  await open(page, 'Home');
  await expect(page.getByTestId('next-backup')).toHaveText('Next backup: waiting for your OK to read Photos.');
  const ask = page.getByTestId('dashboard-permissions').getByRole('button', { name: 'Allow Backpact to read Photos' });
  await expect(ask).toBeVisible();
  const checks = await folderChecks(page);
  await advanceFolderClock(page, 3 * DAY + 60_000);
  await expect.poll(() => folderChecks(page)).toBeGreaterThan(checks);
  expect(await rememberedFolders(page)).toEqual([expect.objectContaining({ state: 'idle', access: 'prompt', snapshotId: resumed.snapshotId })]);
  expect(await page.evaluate(() => (globalThis as unknown as { backpactPermissionAsks: number }).backpactPermissionAsks)).toBe(0);
  await expect(page.getByTestId('dashboard-permissions')).toContainText('Backpact needs your OK to read Photos again: its backup is waiting.');
  await ask.click();
  const afterOk = await waitForFolderRun(page, 'Photos', resumed.snapshotId);
  expect(afterOk.newBytes).toBe(0);
  expect(await page.evaluate(() => (globalThis as unknown as { backpactPermissionAsks: number }).backpactPermissionAsks)).toBe(1);
  await expect(page.getByTestId('dashboard-permissions')).toHaveCount(0);
  await expect(page.getByTestId('next-backup')).toHaveText(/^Next backup: Photos, /);
  const expected = await opfsHashes(page, 'Photos');
  expect(Object.keys(expected)).toHaveLength(4 + big.length);

  // The browser refuses to let the app read the folder: a clear message, and nothing runs.
  await denyFolderPermission(owner.context);
  await page.reload();
  await waitForBackupServices(page);
  await open(page, 'Home');
  await expect(page.getByTestId('dashboard-permissions')).toContainText('Backpact may not read Photos, so it is not backed up.');
  await expect(page.getByTestId('dashboard-permissions').getByRole('button')).toHaveCount(0);
  await expect(page.getByTestId('next-backup')).toHaveCount(0);
  const checksDenied = await folderChecks(page);
  await advanceFolderClock(page, 5 * DAY);
  await expect.poll(() => folderChecks(page)).toBeGreaterThan(checksDenied);
  expect(await rememberedFolders(page)).toEqual([expect.objectContaining({ state: 'idle', access: 'denied', snapshotId: afterOk.snapshotId })]);
  await open(page, 'Back up');
  await expect(row.getByTestId('folder-status')).toHaveText(/^Backpact may not read Photos\. Allow it in the browser's site settings/);
  await expect(row.getByRole('button', { name: 'Back up Photos now' })).toBeDisabled();

  // Stop backing up the folder: it is forgotten (also after a reload); its snapshots stay.
  await row.getByRole('button', { name: 'Stop backing up Photos' }).click();
  await expect(page.getByTestId('regular-folder')).toHaveCount(0);
  await page.reload();
  await waitForBackupServices(page);
  expect(await rememberedFolders(page)).toEqual([]);
  await open(page, 'Home');
  await expect(page.getByTestId('dashboard-status')).toBeVisible();
  await expect(page.getByTestId('next-backup')).toHaveCount(0);
  expect(await waitForSnapshots(page, 6)).toHaveLength(6);

  // A new device restores the last snapshot byte-identical.
  const [device] = await openPeers(1);
  expect((await restoreOnNewDevice(device.page, phrase, 6))[0]).toBe(afterOk.snapshotId);
  const saved = await restoreAndSave(device.page, afterOk.snapshotId, []);
  expect(await zipHashes(saved.path)).toEqual(expected);
});
