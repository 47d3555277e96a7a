import { describe, expect, it } from 'vitest';
import { bytesEqual, concatBytes, fromHex, toHex } from '../encoding/bytes.ts';
import { merkleRoot } from '../merkle/index.ts';
import { InvalidArgumentError, NotEnoughShardsError } from '../errors.ts';
import type { ChunkId, PeerId } from '../ids.ts';
import { deriveUserKeys } from '../keys/derive.ts';
import { identityFromPrivateKey } from '../keys/identity.ts';
import { openManifest, openRootRecord, sealManifest, sealRootRecord, type ChunkLocation, type FileEntry, type PackPlacement } from '../manifest/index.ts';
import { BufferPool, joinStripe, objectId, PACK_BUFFER_OFFSET, packId, shardLengthFor, stripePack, stripeRoots } from '../pack/index.ts';
import { ChunkStage, encodeStream, PackDecoder, PackEncoder, type DecodedPack, type EncodedPack } from './index.ts';

const KEYS = deriveUserKeys(fromHex('5a'.repeat(64)));

function prng(length: number, seed: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(length / 4));
  let s = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    words[i] = s;
  }
  return new Uint8Array(words.buffer, 0, length);
}

function* pieces(data: Uint8Array, size: number): Generator<Uint8Array> {
  for (let o = 0; o < data.length; o += size) yield data.subarray(o, o + size);
}

function placementOf(p: EncodedPack, holders: PeerId[]): PackPlacement {
  return {
    packId: p.packId,
    length: p.length,
    dataCount: p.dataCount,
    parityCount: p.parityCount,
    shardLength: p.shardLength,
    shards: p.shardIds.map((id, i) => ({ id, holder: holders[i % holders.length]!, merkleRoot: p.merkleRoots[i]! })),
  };
}

describe('pipeline', () => {
  it('backs up files and restores them from k of k + m shards, with dedup', async () => {
    const k = 4;
    const m = 2;
    const a = prng(9 * 1024 * 1024 + 123, 1);
    const b = concatBytes(prng(100_000, 2), a.subarray(3 * 1024 * 1024)); // shares most of a's chunks
    const files = { 'a.bin': a, 'b.bin': b, 'empty': new Uint8Array(0), 'again.bin': a };

    const stage = await ChunkStage.create(KEYS);
    const encoder = await PackEncoder.create(KEYS, { dataCount: k, parityCount: m });
    const packs: EncodedPack[] = [];
    const entries: FileEntry[] = [];
    for (const [path, data] of Object.entries(files)) {
      const r = await encodeStream(pieces(data, 777_777), stage, encoder, false);
      packs.push(...r.packs);
      expect(r.size).toBe(data.length);
      entries.push({ path, kind: 'file', size: r.size, mtime: 0, chunks: r.chunks });
    }
    const last = await encoder.flush();
    if (last) packs.push(last);

    // Dedup: the repeated file adds no chunk, and b stores only its new prefix.
    const stored = packs.flatMap((p) => p.entries);
    expect(new Set(stored.map((e) => e.id)).size).toBe(stored.length);
    const storedBytes = stored.reduce((s, e) => s + e.plaintextLength, 0);
    expect(storedBytes).toBeLessThan(a.length + 3 * 1024 * 1024 + 100_000 + 4 * 1024 * 1024);
    expect(entries[3]!.chunks).toEqual(entries[0]!.chunks);
    for (const p of packs) {
      expect(p.shards).toHaveLength(k + m);
      expect(p.packId).toBe(await packId(await joinStripe(p.shards, k, p.length, p.packId)));
      expect(p.merkleRoots.length).toBe(k + m);
    }

    // Restore every file after losing m shards of every pack (a different pattern per pack).
    const decoder = await PackDecoder.create(KEYS);
    const where = new Map<ChunkId, EncodedPack>();
    for (const p of packs) for (const e of p.entries) where.set(e.id, p);
    const opened = new Map<string, DecodedPack>();
    for (const [i, p] of packs.entries()) {
      const shards: (Uint8Array | null)[] = p.shards.slice();
      for (let j = 0; j < m; j++) shards[(i + j * 3) % (k + m)] = null;
      opened.set(p.packId, await decoder.openPack(shards, { packId: p.packId, length: p.length, dataCount: k, merkleRoots: p.merkleRoots }));
    }
    for (const f of entries) {
      const parts: Uint8Array[] = [];
      for (const id of f.chunks) parts.push(await decoder.chunk(opened.get(where.get(id)!.packId)!, id));
      expect(bytesEqual(concatBytes(...parts), files[f.path as keyof typeof files])).toBe(true);
    }
    const p0 = packs[0]!;
    await expect(decoder.openPack([null, null, null, ...p0.shards.slice(3)], { packId: p0.packId, length: p0.length, dataCount: k })).rejects.toBeInstanceOf(NotEnoughShardsError);
  });

  it('pipelines many small packs (coded while the next fills) with the same layout as add() and addBatch()', async () => {
    const chunking = { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 };
    const options = { dataCount: 3, parityCount: 2, packTargetBytes: 300_000 };
    const data = prng(3 * 1024 * 1024 + 5, 21);
    const stage = await ChunkStage.create(KEYS, [], chunking);
    const streamed = await encodeStream(pieces(data, 100_000), stage, await PackEncoder.create(KEYS, options));
    expect(streamed.size).toBe(data.length);
    expect(streamed.packs.length).toBeGreaterThan(8);

    // The same chunks through add() one by one and through addBatch(): same packs but for nonces.
    const again = await ChunkStage.create(KEYS, [], chunking);
    const found = [...(await again.push(data)), ...(await again.endFile())];
    const byAdd = await PackEncoder.create(KEYS, options);
    const addPacks: EncodedPack[] = [];
    for (const c of found) {
      const p = await byAdd.add(c.data!, c.idBytes);
      if (p) addPacks.push(p);
    }
    addPacks.push((await byAdd.flush())!);
    const byBatch = await PackEncoder.create(KEYS, options);
    const batchPacks = await byBatch.addBatch(found.map((c) => ({ data: c.data!, idBytes: c.idBytes })));
    batchPacks.push((await byBatch.flush())!);
    const layout = (packs: EncodedPack[]): unknown => packs.map((p) => [p.length, p.shardLength, p.entries]);
    expect(layout(addPacks)).toEqual(layout(streamed.packs));
    expect(layout(batchPacks)).toEqual(layout(streamed.packs));
    expect(await byAdd.flush()).toBeNull();

    const decoder = await PackDecoder.create(KEYS);
    const restored: Uint8Array[] = [];
    for (const p of streamed.packs) {
      expect(p.length).toBeLessThanOrEqual(options.packTargetBytes);
      expect(p.shards.every((s) => s.length === p.shardLength)).toBe(true);
      const shards: (Uint8Array | null)[] = p.shards.map((s) => s.slice());
      shards[0] = null;
      shards[4] = null;
      const opened = await decoder.openPack(shards, { packId: p.packId, length: p.length, dataCount: 3, merkleRoots: p.merkleRoots });
      for (const e of p.entries) restored.push(await decoder.chunk(opened, e.id));
    }
    expect(bytesEqual(concatBytes(...restored), data)).toBe(true);
    expect(streamed.chunks).toEqual(streamed.packs.flatMap((p) => p.entries.map((e) => e.id)));
  });

  it('reuses released pack buffers full of old bytes and still makes correct packs', async () => {
    const options = { dataCount: 3, parityCount: 2, packTargetBytes: 1024 * 1024 };
    const chunking = { min: 32 * 1024, avg: 128 * 1024, max: 512 * 1024 };
    const data = prng(6 * 1024 * 1024 + 99, 31);
    const pool = new BufferPool(2);
    // Dirty buffers of the size the encoder asks for, as if earlier packs had used them.
    const size = pool.take(PACK_BUFFER_OFFSET + shardLengthFor(options.packTargetBytes, 3) * 5).length;
    for (let i = 0; i < 2; i++) pool.give(new Uint8Array(size).fill(0xa5).buffer);
    const encoder = await PackEncoder.create(KEYS, options, pool);
    const copies: { pack: EncodedPack; shards: Uint8Array[] }[] = [];
    const r = await encodeStream(pieces(data, 200_000), await ChunkStage.create(KEYS, [], chunking), encoder, true, (pack) => {
      // The padding after the pack in its last data shard is zeroed even in a reused buffer.
      const padding = pack.shardLength * pack.dataCount - pack.length;
      expect(pack.shards[pack.dataCount - 1]!.subarray(pack.shardLength - padding).every((b) => b === 0)).toBe(true);
      copies.push({ pack, shards: pack.shards.map((s) => s.slice()) });
      encoder.release(pack);
    });
    expect(r.packs).toEqual([]);
    expect(copies.length).toBeGreaterThan(4);
    expect(pool.stats.reused).toBeGreaterThanOrEqual(copies.length - 2);

    const decoder = await PackDecoder.create(KEYS);
    const restored: Uint8Array[] = [];
    for (const [i, { pack, shards }] of copies.entries()) {
      const some: (Uint8Array | null)[] = shards.slice();
      some[i % 5] = null;
      some[(i + 1) % 5] = null;
      const opened = await decoder.openPack(some, { packId: pack.packId, length: pack.length, dataCount: 3, merkleRoots: pack.merkleRoots });
      for (const e of pack.entries) restored.push(await decoder.chunk(opened, e.id));
    }
    expect(bytesEqual(concatBytes(...restored), data)).toBe(true);
  });

  it('gives every shard its own Merkle root, also when k = 1 copies are hashed once', async () => {
    for (const [k, m] of [[1, 2], [1, 1], [2, 1], [3, 2]] as const) {
      const encoder = await PackEncoder.create(KEYS, { dataCount: k, parityCount: m });
      const r = await encodeStream([prng(300_000, 50 + k + m)], await ChunkStage.create(KEYS, [], { min: 4096, avg: 16384, max: 65536 }), encoder);
      for (const p of r.packs) expect(p.merkleRoots.map(toHex)).toEqual(p.shards.map((s) => toHex(merkleRoot(s))));
    }
  });

  it('rejects a malformed chunk id without disturbing the pack being filled', async () => {
    const encoder = await PackEncoder.create(KEYS, { dataCount: 2, parityCount: 1 });
    const stage = await ChunkStage.create(KEYS, [], { min: 64, avg: 256, max: 1024 });
    const [a, b] = await stage.push(prng(3000, 22));
    expect(await encoder.add(a!.data!, a!.idBytes)).toBeNull();
    await expect(encoder.add(b!.data!, new Uint8Array(31))).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await encoder.add(b!.data!, b!.idBytes)).toBeNull();
    const pack = (await encoder.flush())!;
    expect(pack.entries.map((e) => e.id)).toEqual([a!.id, b!.id]);
    const opened = await (await PackDecoder.create(KEYS)).openPack(pack.shards, { packId: pack.packId, length: pack.length, dataCount: 2 });
    expect(opened.entries).toEqual(pack.entries);
  });

  it('carries a whole backup through manifest, root record and back (restore from the phrase keys)', async () => {
    const owner = KEYS.identity;
    const holders = [1, 2, 3].map((n) => identityFromPrivateKey(new Uint8Array(32).fill(n)).peerId);
    const data = prng(3 * 1024 * 1024, 7);
    const stage = await ChunkStage.create(KEYS);
    const encoder = await PackEncoder.create(KEYS, { dataCount: 2, parityCount: 1 });
    const r = await encodeStream([data], stage, encoder);
    const chunks: ChunkLocation[] = r.packs.flatMap((p) => p.entries.map((e) => ({ id: e.id, packId: p.packId, offset: e.offset, length: e.length, plaintextLength: e.plaintextLength })));
    const manifest = {
      createdAt: 1, label: 'test', parent: null, packs: r.packs.map((p) => placementOf(p, holders)), chunks,
      files: [{ path: 'data.bin', kind: 'file' as const, size: r.size, mtime: 2, chunks: r.chunks }],
    };
    const sealed = await sealManifest(KEYS.indexKey, manifest);
    const mStripe = stripePack(sealed.envelope, await objectId(sealed.envelope), 1, 2, KEYS.shardNameKey);
    const manifestPlacement: PackPlacement = {
      packId: mStripe.packId, length: mStripe.packLength, dataCount: 1, parityCount: 2, shardLength: mStripe.shardLength,
      shards: mStripe.shardIds.map((id, i) => ({ id, holder: holders[i]!, merkleRoot: stripeRoots(mStripe)[i]! })),
    };
    const record = await sealRootRecord(owner, KEYS.rootRecordKey, 1, {
      snapshots: [{ id: sealed.id, createdAt: 1, manifest: manifestPlacement }],
      partners: [],
    });

    // New device: same phrase → same keys; fetch the root record, then the manifest, then the data.
    const again = deriveUserKeys(fromHex('5a'.repeat(64)));
    const root = await openRootRecord(record, again.rootRecordKey, { expectedOwner: again.identity.peerId });
    const snap = root.body.snapshots[0]!;
    const envelope = await joinStripe([null, mStripe.shards[1]!, null], 1, snap.manifest.length, snap.manifest.packId, undefined, 'object');
    const restored = await openManifest(again.indexKey, envelope, snap.id);
    const decoder = await PackDecoder.create(again);
    const parts: Uint8Array[] = [];
    for (const id of restored.files[0]!.chunks) {
      const loc = restored.chunks.find((c) => c.id === id)!;
      const pack = r.packs.find((p) => p.packId === loc.packId)!;
      const placement = restored.packs.find((p) => p.packId === loc.packId)!;
      const decoded = await decoder.openPack([null, ...pack.shards.slice(1)], { packId: placement.packId, length: placement.length, dataCount: placement.dataCount, merkleRoots: placement.shards.map((s) => s.merkleRoot) });
      parts.push(await decoder.chunk(decoded, id));
    }
    expect(bytesEqual(concatBytes(...parts), data)).toBe(true);
  });
});
