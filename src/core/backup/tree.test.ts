import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.ts';
import type { ChunkId } from '../ids.ts';
import type { FileEntry } from '../manifest/snapshot.ts';
import { baseName, checkTree, listFolder, normalizePath, parentOf, selectEntries } from './tree.ts';

const c = (x: string): ChunkId => x.repeat(64) as ChunkId;
const file = (path: string, size: number, mtime = 1): FileEntry => ({ path, kind: 'file', size, mtime, chunks: size ? [c('a')] : [] });
const dir = (path: string): FileEntry => ({ path, kind: 'directory', size: 0, mtime: 0, chunks: [] });

const tree: FileEntry[] = [
  file('a.txt', 5, 10),
  file('docs/b b.txt', 7, 20),
  file('docs/deep/été.md', 11, 30),
  dir('docs/empty'),
  dir('void'),
  file('docs/deep/z', 0, 5),
];

describe('paths', () => {
  it('normalises browser paths and keeps names exactly', () => {
    expect(normalizePath('/photos//2024/beach.jpg')).toBe('photos/2024/beach.jpg');
    expect(normalizePath('My Files/ça va?.txt')).toBe('My Files/ça va?.txt');
    const decomposed = 'e\u0301t\u00e9';
    expect(normalizePath(decomposed)).toBe(decomposed);
  });

  it('refuses empty, dot and NUL paths', () => {
    for (const bad of ['', '/', 'a/../b', './a', 'a\0b']) expect(() => normalizePath(bad), bad).toThrow(InvalidArgumentError);
  });

  it('splits parents and names', () => {
    expect(parentOf('a/b/c')).toBe('a/b');
    expect(parentOf('c')).toBe('');
    expect(baseName('a/b/c')).toBe('c');
  });

  it('refuses duplicates and files that would be folders', () => {
    expect(() => checkTree([file('x', 1), file('x', 2)])).toThrow(/twice/);
    expect(() => checkTree([file('x', 1), file('x/y', 2)])).toThrow(/is a file/);
    expect(() => checkTree(tree)).not.toThrow();
  });
});

describe('folder listings', () => {
  it('lists folders first with totals, then files', () => {
    expect(listFolder(tree, '')).toEqual([
      { name: 'docs', path: 'docs', kind: 'directory', size: 18, files: 3, mtime: 30 },
      { name: 'void', path: 'void', kind: 'directory', size: 0, files: 0, mtime: 0 },
      { name: 'a.txt', path: 'a.txt', kind: 'file', size: 5, files: 1, mtime: 10 },
    ]);
    expect(listFolder(tree, 'docs').map((r) => [r.name, r.kind])).toEqual([['deep', 'directory'], ['empty', 'directory'], ['b b.txt', 'file']]);
    expect(listFolder(tree, 'docs/empty')).toEqual([]);
  });
});

describe('restore selection', () => {
  it('selects a file, a folder with everything under it, or all', () => {
    expect(selectEntries(tree, ['a.txt']).map((e) => e.path)).toEqual(['a.txt']);
    expect(selectEntries(tree, ['docs']).map((e) => e.path)).toEqual(['docs/b b.txt', 'docs/deep/été.md', 'docs/empty', 'docs/deep/z']);
    expect(selectEntries(tree, [])).toHaveLength(tree.length);
    expect(selectEntries(tree, ['docs/deep', 'docs/deep/z']).map((e) => e.path)).toEqual(['docs/deep/été.md', 'docs/deep/z']);
  });

  it('does not confuse a folder with a name that starts the same', () => {
    const t = [file('doc', 1), file('docs/x', 1)];
    expect(selectEntries(t, ['doc']).map((e) => e.path)).toEqual(['doc']);
  });

  it('refuses a path that is not there', () => {
    expect(() => selectEntries(tree, ['nope'])).toThrow(InvalidArgumentError);
  });
});
