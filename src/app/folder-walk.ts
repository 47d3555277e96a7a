/**
 * The adapter between a remembered folder (a File System Access API directory handle) and the
 * backup job: walks the folder into the same {@link BackupItem}s a folder input or a drop gives.
 * Paths start with the folder's name ("Photos/2024/beach.jpg"); empty folders are kept as
 * directory entries. Each file is the browser's `File` for the handle — a reference to the file
 * on disk that the backup reads as a stream — so only the tree's metadata is held in memory.
 */
import type { BackupItem } from './backup.svelte.ts';

/** The parts of the File System Access API used here (not all of it is in TypeScript's DOM lib). */
export interface DirectoryHandle {
  readonly kind: 'directory';
  readonly name: string;
  values(): AsyncIterable<DirectoryHandle | FileHandle>;
  isSameEntry(other: DirectoryHandle): Promise<boolean>;
  queryPermission?(descriptor: { mode: 'read' | 'readwrite' }): Promise<PermissionState>;
  requestPermission?(descriptor: { mode: 'read' | 'readwrite' }): Promise<PermissionState>;
}

/** A file's handle. */
export interface FileHandle {
  readonly kind: 'file';
  readonly name: string;
  getFile(): Promise<File>;
}

/** A folder could not be read; `path` names the entry, `cause` is the browser's error. */
export class FolderReadError extends Error {
  constructor(
    readonly path: string,
    readonly reason: 'gone' | 'not-allowed' | 'unreadable',
    options?: ErrorOptions,
  ) {
    super(
      reason === 'gone'
        ? `"${path}" can no longer be found. Was it moved, renamed or deleted?`
        : reason === 'not-allowed'
          ? `Backpact is not allowed to read "${path}".`
          : `"${path}" could not be read${options?.cause instanceof Error ? `: ${options.cause.message}` : ''}.`,
      options,
    );
    this.name = 'FolderReadError';
  }
}

function wrap(path: string, err: unknown): FolderReadError {
  if (err instanceof FolderReadError) return err;
  const name = err instanceof DOMException ? err.name : '';
  const reason = name === 'NotFoundError' ? 'gone' : name === 'NotAllowedError' || name === 'SecurityError' ? 'not-allowed' : 'unreadable';
  return new FolderReadError(path, reason, { cause: err });
}

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Walks `root` recursively (children in name order, so runs list the tree the same way). `mtime`
 * of an empty folder is `now` (the API gives folders no time). Throws {@link FolderReadError}
 * naming the first entry that could not be read; stops with the signal's reason when aborted.
 */
export async function itemsFromDirectory(root: DirectoryHandle, now: number, signal?: AbortSignal): Promise<BackupItem[]> {
  const out: BackupItem[] = [];
  const walk = async (dir: DirectoryHandle, path: string): Promise<void> => {
    signal?.throwIfAborted();
    const children: (DirectoryHandle | FileHandle)[] = [];
    try {
      for await (const h of dir.values()) children.push(h);
    } catch (err) {
      throw wrap(path, err);
    }
    if (children.length === 0) {
      out.push({ path, kind: 'directory', mtime: now });
      return;
    }
    children.sort(byName);
    for (const c of children) {
      const p = `${path}/${c.name}`;
      if (c.kind === 'directory') {
        await walk(c, p);
        continue;
      }
      let file: File;
      try {
        file = await c.getFile();
      } catch (err) {
        throw wrap(p, err);
      }
      out.push({ path: p, kind: 'file', file, mtime: file.lastModified });
    }
  };
  await walk(root, root.name);
  return out;
}
