import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.ts';
import type { ChunkId, PackId, PeerId, ShardId, SnapshotId } from '../ids.ts';
import { encodeManifest, type PackPlacement } from '../manifest/index.ts';
import { shardLengthFor } from '../pack/shards.ts';
import { planRestore } from './restore-plan.ts';
import { indexOf, rootBodyFor, SnapshotAssembler } from './snapshot.ts';

const hex = (b: string): string => b.repeat(32);
const chunk = (b: string): ChunkId => hex(b) as ChunkId;

function placement(id: string, length: number): PackPlacement {
  return {
    packId: hex(id) as PackId,
    length,
    dataCount: 1,
    parityCount: 2,
    shardLength: shardLengthFor(length, 1),
    shards: [0, 1, 2].map((i) => ({ id: hex(`${i}${i}`) as ShardId, holder: 'a'.repeat(32) as PeerId, merkleRoot: new Uint8Array(32) })),
  };
}

const entry = (id: ChunkId, offset: number, plain: number) => ({ id, offset, length: plain + 29, plaintextLength: plain });

describe('snapshot assembly', () => {
  const oldPack = placement('a0', 1000);
  const earlier = indexOf([{ packs: [oldPack], chunks: [{ id: chunk('c1'), packId: oldPack.packId, offset: 1, length: 129, plaintextLength: 100 }] }]);

  it('resolves new and earlier chunks and lists only the packs it uses', () => {
    const a = new SnapshotAssembler(earlier);
    const fresh = placement('b0', 2000);
    a.addPack(fresh, [entry(chunk('c2'), 1, 50), entry(chunk('c3'), 80, 60)]);
    a.addFile({ path: 'old.txt', kind: 'file', size: 100, mtime: 1, chunks: [chunk('c1')] });
    a.addFile({ path: 'new.txt', kind: 'file', size: 110, mtime: 2, chunks: [chunk('c2'), chunk('c3')] });
    a.addFile({ path: 'empty', kind: 'directory', size: 0, mtime: 0, chunks: [] });
    const m = a.build({ createdAt: 5, label: 'test', parent: hex('ee') as SnapshotId });
    expect(m.packs.map((p) => p.packId).sort()).toEqual([hex('a0'), hex('b0')]);
    expect(m.chunks).toHaveLength(3);
    expect(() => encodeManifest(m)).not.toThrow();
  });

  it('refuses a file whose chunk is nowhere', () => {
    const a = new SnapshotAssembler(earlier);
    a.addFile({ path: 'x', kind: 'file', size: 5, mtime: 0, chunks: [chunk('dd')] });
    expect(() => a.build({ createdAt: 0, label: '', parent: null })).toThrow(InvalidArgumentError);
  });

  it('plans a restore pack by pack, fetching a shared pack once', () => {
    const a = new SnapshotAssembler(earlier);
    const fresh = placement('b0', 2000);
    a.addPack(fresh, [entry(chunk('c2'), 1, 50), entry(chunk('c3'), 80, 60)]);
    a.addFile({ path: 'dir/one', kind: 'file', size: 50, mtime: 0, chunks: [chunk('c2')] });
    a.addFile({ path: 'dir/two', kind: 'file', size: 160, mtime: 0, chunks: [chunk('c3'), chunk('c1')] });
    a.addFile({ path: 'other', kind: 'file', size: 100, mtime: 0, chunks: [chunk('c1')] });
    const m = a.build({ createdAt: 0, label: '', parent: null });
    const one = planRestore(m, ['dir/one']);
    expect(one.packs.map((p) => [p.placement.packId, p.chunks])).toEqual([[hex('b0'), [chunk('c2')]]]);
    expect(one).toMatchObject({ files: 1, bytes: 50 });
    const dir = planRestore(m, ['dir']);
    expect(dir.packs.map((p) => p.placement.packId)).toEqual([hex('b0'), hex('a0')]);
    expect(dir.packs[0]!.chunks).toEqual([chunk('c2'), chunk('c3')]);
    expect(planRestore(m, []).files).toBe(3);
  });
});

describe('root record body', () => {
  it('keeps the newest snapshots that fit', () => {
    const refs = Array.from({ length: 10 }, (_, i) => ({ id: hex(i.toString(16).padStart(2, '0')) as SnapshotId, createdAt: i, manifest: placement('f0', 100) }));
    expect(rootBodyFor(refs, []).snapshots).toHaveLength(10);
    expect(rootBodyFor(refs, [], 2000).snapshots.length).toBeLessThan(10);
    expect(rootBodyFor(refs, [], 2000).snapshots[0]).toBe(refs[0]);
    expect(rootBodyFor(refs, [], 100_000, 3).snapshots).toHaveLength(3);
    expect(() => rootBodyFor(refs, [], 100)).toThrow(InvalidArgumentError);
  });
});
