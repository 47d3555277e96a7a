/**
 * The file tree of a backup as people see it: path rules for what is backed up, folder listings
 * for browsing a snapshot, and the selection of what to restore. Paths are '/'-separated and
 * relative ("photos/2024/beach.jpg"); folders that hold something need no entry of their own,
 * empty folders are listed as directory entries.
 */
import { InvalidArgumentError } from '../errors.ts';
import type { FileEntry } from '../manifest/snapshot.ts';

/** Longest path accepted (UTF-16 units): far beyond any real file system's limit. */
export const MAX_PATH_LENGTH = 4096;

/**
 * Normalises a path given by the browser (`webkitRelativePath`, a drop, a file name): drops
 * leading and repeated separators, refuses `.`/`..` segments, NUL and empty paths. Names are
 * kept exactly (no Unicode normalisation: a restore must give back the very same names).
 * Throws {@link InvalidArgumentError}.
 */
export function normalizePath(raw: string): string {
  if (raw.includes('\0')) throw new InvalidArgumentError('a path must not contain NUL');
  const parts = raw.split('/').filter((p) => p.length > 0);
  if (parts.length === 0) throw new InvalidArgumentError('empty path');
  for (const p of parts) if (p === '.' || p === '..') throw new InvalidArgumentError(`path ${JSON.stringify(raw)} has a "${p}" segment`);
  const path = parts.join('/');
  if (path.length > MAX_PATH_LENGTH) throw new InvalidArgumentError('path too long');
  return path;
}

/** The folder holding `path` ('' at the top). */
export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** The last segment of `path`. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * Checks that a set of entries can form one tree: no path twice, and no file where another entry
 * needs a folder ("a" a file and "a/b" too). Throws {@link InvalidArgumentError} naming the path.
 */
export function checkTree(entries: readonly { path: string; kind: 'file' | 'directory' }[]): void {
  const kinds = new Map<string, 'file' | 'directory'>();
  for (const e of entries) {
    if (kinds.has(e.path)) throw new InvalidArgumentError(`"${e.path}" is chosen twice`);
    kinds.set(e.path, e.kind);
  }
  for (const e of entries) {
    for (let dir = parentOf(e.path); dir !== ''; dir = parentOf(dir)) {
      if (kinds.get(dir) === 'file') throw new InvalidArgumentError(`"${dir}" is a file but "${e.path}" is inside it`);
    }
  }
}

/** One row of a folder listing. */
export interface TreeRow {
  readonly name: string;
  readonly path: string;
  readonly kind: 'file' | 'directory';
  /** File size, or the total size of everything under a folder. */
  readonly size: number;
  /** 1 for a file; files under a folder. */
  readonly files: number;
  /** Last modification of a file (ms); the newest inside a folder (0 when empty). */
  readonly mtime: number;
}

/** The rows of folder `dir` ('' for the top): folders first, then files, each by name. */
export function listFolder(entries: readonly FileEntry[], dir: string): TreeRow[] {
  const prefix = dir === '' ? '' : `${dir}/`;
  const rows = new Map<string, { kind: 'file' | 'directory'; size: number; files: number; mtime: number }>();
  for (const e of entries) {
    if (!e.path.startsWith(prefix) || e.path === dir) continue;
    const rest = e.path.slice(prefix.length);
    const slash = rest.indexOf('/');
    const name = slash < 0 ? rest : rest.slice(0, slash);
    const isDir = slash >= 0 || e.kind === 'directory';
    const row = rows.get(name) ?? { kind: isDir ? 'directory' : 'file', size: 0, files: 0, mtime: 0 };
    if (e.kind === 'file') {
      row.size += e.size;
      row.files += 1;
      row.mtime = Math.max(row.mtime, e.mtime);
    }
    rows.set(name, row);
  }
  return [...rows.entries()]
    .map(([name, r]) => ({ name, path: prefix + name, ...r }))
    .sort((a, b) => (a.kind !== b.kind ? (a.kind === 'directory' ? -1 : 1) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The entries a restore of `paths` covers: a file itself, or everything under a folder
 * (empty folders included). An empty `paths` means everything. Throws
 * {@link InvalidArgumentError} for a path that is not in the snapshot.
 */
export function selectEntries(entries: readonly FileEntry[], paths: readonly string[]): FileEntry[] {
  if (paths.length === 0) return [...entries];
  const chosen = new Set<FileEntry>();
  for (const p of paths) {
    let found = false;
    for (const e of entries) {
      if (e.path === p || e.path.startsWith(`${p}/`)) {
        chosen.add(e);
        found = true;
      }
    }
    if (!found) throw new InvalidArgumentError(`"${p}" is not in this snapshot`);
  }
  return entries.filter((e) => chosen.has(e));
}
