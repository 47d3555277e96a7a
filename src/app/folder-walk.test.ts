import { describe, expect, it } from 'vitest';
import { FolderReadError, itemsFromDirectory, type DirectoryHandle, type FileHandle } from './folder-walk.ts';

type Tree = { [name: string]: Tree | string | Error };

function dir(name: string, tree: Tree, failList?: Error): DirectoryHandle {
  return {
    kind: 'directory',
    name,
    isSameEntry: async () => false,
    async *values() {
      if (failList) throw failList;
      // Deliberately not in name order: the walk sorts.
      for (const [n, v] of Object.entries(tree).reverse()) {
        if (typeof v === 'string' || v instanceof Error) yield file(n, v);
        else yield dir(n, v);
      }
    },
  };
}

function file(name: string, content: string | Error): FileHandle {
  return {
    kind: 'file',
    name,
    getFile: async () => {
      if (content instanceof Error) throw content;
      return new File([content], name, { lastModified: 1_700_000_000_000 });
    },
  };
}

describe('itemsFromDirectory', () => {
  it('lists files under the folder name, in name order, keeping empty folders', async () => {
    const root = dir('Photos', { 'b.txt': 'bee', a: { 'x.bin': 'xx', empty: {} }, 'c d.txt': 'sea' });
    const items = await itemsFromDirectory(root, 42);
    expect(items.map((i) => [i.path, i.kind, i.mtime])).toEqual([
      ['Photos/a/empty', 'directory', 42],
      ['Photos/a/x.bin', 'file', 1_700_000_000_000],
      ['Photos/b.txt', 'file', 1_700_000_000_000],
      ['Photos/c d.txt', 'file', 1_700_000_000_000],
    ]);
    expect(await items[2]!.file!.text()).toBe('bee');
  });

  it('keeps an empty picked folder', async () => {
    expect(await itemsFromDirectory(dir('Empty', {}), 7)).toEqual([{ path: 'Empty', kind: 'directory', mtime: 7 }]);
  });

  it('names the entry that could not be read, and why', async () => {
    const gone = new DOMException('gone', 'NotFoundError');
    await expect(itemsFromDirectory(dir('P', { a: { 'x.bin': gone } }), 0)).rejects.toMatchObject({ path: 'P/a/x.bin', reason: 'gone' });
    const refused = new DOMException('no', 'NotAllowedError');
    const err = await itemsFromDirectory(dir('P', {}, refused), 0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FolderReadError);
    expect(err).toMatchObject({ path: 'P', reason: 'not-allowed', message: 'Backpact is not allowed to read "P".' });
    await expect(itemsFromDirectory(dir('P', { 'y.bin': new Error('disk') }), 0)).rejects.toThrow('"P/y.bin" could not be read: disk.');
  });

  it('stops when aborted', async () => {
    const c = new AbortController();
    c.abort(new Error('stop'));
    await expect(itemsFromDirectory(dir('P', { a: 'x' }), 0, c.signal)).rejects.toThrow('stop');
  });
});
