/**
 * Turning what a person picks — a file input, a folder input (`webkitdirectory`), or a drop of
 * files and folders — into backup items. Folder drops are walked with the File and Directory
 * Entries API, so empty folders are kept; inputs give only files.
 */
import type { BackupItem } from '../../app/backup.svelte.ts';

/** Items from an `<input type=file>` (with or without `webkitdirectory`). */
export function itemsFromFiles(files: FileList | readonly File[]): BackupItem[] {
  return [...files].map((f) => ({ path: f.webkitRelativePath || f.name, kind: 'file' as const, file: f, mtime: f.lastModified }));
}

function readAll(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => {
    const out: FileSystemEntry[] = [];
    // readEntries returns at most ~100 entries per call: call until it returns none.
    const next = (): void => reader.readEntries((batch) => {
      if (batch.length === 0) resolve(out);
      else {
        out.push(...batch);
        next();
      }
    }, reject);
    next();
  });
}

async function walk(entry: FileSystemEntry, out: BackupItem[]): Promise<void> {
  const path = entry.fullPath.replace(/^\/+/, '');
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push({ path, kind: 'file', file, mtime: file.lastModified });
    return;
  }
  const children = await readAll((entry as FileSystemDirectoryEntry).createReader());
  if (children.length === 0) out.push({ path, kind: 'directory', mtime: Date.now() });
  for (const c of children) await walk(c, out);
}

/** Items from a drop: folders walked recursively; plain files where entries are not available. */
export async function itemsFromDrop(data: DataTransfer): Promise<BackupItem[]> {
  const entries = [...data.items].map((i) => (i.kind === 'file' ? i.webkitGetAsEntry?.() ?? null : null));
  if (entries.length === 0 || entries.some((e) => e === null)) return itemsFromFiles(data.files);
  const out: BackupItem[] = [];
  for (const e of entries) await walk(e!, out);
  return out;
}

/** Merges newly picked items into the selection; a path picked again replaces the older pick. */
export function mergeItems(current: readonly BackupItem[], added: readonly BackupItem[]): BackupItem[] {
  const byPath = new Map(current.map((i) => [i.path, i]));
  for (const i of added) byPath.set(i.path, i);
  return [...byPath.values()];
}
