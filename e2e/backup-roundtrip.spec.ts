/**
 * Backup and restore end to end through the UI, separate browser contexts as separate devices:
 * an owner picks files (file input, folder input, drag and drop) and backs them up to three
 * partners made through invites; the owner's device is discarded; a new device restores with the
 * recovery phrase — one file as a download, then everything as a zip — and every path and
 * SHA-256 matches, also when written into a folder; the partners' agreements come back too.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from './fixtures.ts';
import { fileHash, ownerWithPartners, zipHashes, type DebugGlobal } from './helpers/backup.ts';
import { restoreIdentity } from './helpers/onboarding.ts';
import { openPartners } from './helpers/partners.ts';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

test('files picked in the UI are backed up to three partners and restored on a new device', async ({ openPeers }) => {
  const [owner, ...partners] = await openPeers(4);
  const phrase = await ownerWithPartners(owner, partners, ['Ana', 'Ben', 'Cleo']);
  const page = owner.page;
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Back up' }).click();
  await expect(page.getByTestId('backup-plan')).toHaveText('Survives losing any 2 partners of your 3.');

  const notes = Buffer.from('Notes with a long line\n'.repeat(500));
  const photo = randomBytes(2_500_000);
  await page.getByTestId('pick-files').setInputFiles([
    { name: 'notes.txt', mimeType: 'text/plain', buffer: notes },
    { name: 'photo 1.bin', mimeType: 'application/octet-stream', buffer: photo },
  ]);
  const dir = await mkdtemp(join(tmpdir(), 'backpact-e2e-'));
  const album = { 'album/été.txt': Buffer.from('summer'), 'album/sub/b.bin': randomBytes(300_000) };
  // The browser reads picked files when the backup runs: the folder stays until the test ends.
  for (const [p, b] of Object.entries(album)) {
    await mkdir(join(dir, p, '..'), { recursive: true });
    await writeFile(join(dir, p), b);
  }
  await page.getByTestId('pick-folder').setInputFiles(join(dir, 'album'));
  // Drag and drop of a file.
  await page.evaluate(() => {
    const data = new DataTransfer();
    data.items.add(new File(['dropped text'], 'dropped.txt', { lastModified: 1_700_000_000_000 }));
    document.querySelector('[aria-label="Drop files or folders here"]')!.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
  });
  await expect(page.getByTestId('backup-selection')).toContainText('5 files');
  await page.getByRole('button', { name: 'Back up now' }).click();
  await expect.poll(async () => `${await page.getByTestId('backup-progress').getAttribute('data-phase')} ${await page.getByTestId('backup-message').textContent().catch(() => '')}`, { timeout: 60_000 })
    .toMatch(/^done /);
  await expect(page.getByTestId('backup-survival')).toHaveText('Survives losing any 2 partners of your 3.');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Home' }).click();
  await expect(page.getByTestId('dashboard-status')).toContainText('protected · survives losing any 2 of your 3 partners');
  await owner.context.close();

  const expected: Record<string, string> = {
    'notes.txt': sha(notes),
    'photo 1.bin': sha(photo),
    'album/été.txt': sha(album['album/été.txt']),
    'album/sub/b.bin': sha(album['album/sub/b.bin']),
    'dropped.txt': sha('dropped text'),
  };
  const [device] = await openPeers(1);
  await restoreIdentity(device.page, phrase, 'Olivia');
  await device.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Restore' }).click();
  await device.page.getByTestId('snapshot').first().getByRole('button').click({ timeout: 60_000 });
  await device.page.getByRole('button', { name: 'Open album' }).click();
  await device.page.getByRole('button', { name: 'Open sub' }).click();
  const [one] = await Promise.all([device.page.waitForEvent('download', { timeout: 60_000 }), device.page.getByRole('button', { name: 'Restore b.bin' }).click()]);
  expect(one.suggestedFilename()).toBe('b.bin');
  expect(await fileHash(await one.path())).toBe(expected['album/sub/b.bin']);

  const [all] = await Promise.all([device.page.waitForEvent('download', { timeout: 60_000 }), device.page.getByRole('button', { name: 'Restore everything' }).click()]);
  expect(all.suggestedFilename()).toMatch(/^backpact-\d{4}-\d\d-\d\d\.zip$/);
  expect(await zipHashes(await all.path())).toEqual(expected);

  // The same restore written into a folder through the File System Access API (the
  // origin-private file system stands in for a folder picked with showDirectoryPicker).
  const written = await device.page.evaluate(async () => {
    const r = (globalThis as unknown as DebugGlobal).backpactDebug.runtime.backup!.restore;
    const job = r.jobs.find((j) => j.name.endsWith('.zip'))!;
    const root = await navigator.storage.getDirectory();
    await r.saveToDirectory(job.id, root);
    const out: Record<string, string> = {};
    const walk = async (dir: FileSystemDirectoryHandle, prefix: string): Promise<void> => {
      for await (const [name, h] of (dir as unknown as AsyncIterable<[string, FileSystemHandle]>)) {
        if (h.kind === 'directory') await walk(h as FileSystemDirectoryHandle, `${prefix}${name}/`);
        else {
          const digest = await crypto.subtle.digest('SHA-256', await (await (h as FileSystemFileHandle).getFile()).arrayBuffer());
          out[prefix + name] = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
        }
      }
    };
    await walk(root, '');
    return out;
  });
  expect(written).toEqual(expected);

  // The partners recognised the restored identity and sent back the signed agreements.
  await openPartners(device.page);
  for (const name of ['Ana', 'Ben', 'Cleo']) {
    await expect(device.page.getByTestId('partner').filter({ hasText: name }).getByTestId('partner-online')).toHaveText('Connected');
  }
  await rm(dir, { recursive: true, force: true });
});
