import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ChunkCipher } from '../crypto/chunk.ts';
import { ENVELOPE_OVERHEAD } from '../crypto/envelope.ts';
import { bytesEqual, fromHex, toHex, utf8 } from '../encoding/bytes.ts';
import { ChunkNotInPackError, IntegrityError, InvalidArgumentError, MalformedError, NotEnoughShardsError, ShardLengthError, UnsupportedVersionError } from '../errors.ts';
import type { ChunkId, PackId } from '../ids.ts';
import { merkleRoot } from '../merkle/index.ts';
import { taggedHash } from '../crypto/hash.ts';
import { expectGolden } from '../test-support/golden.ts';
import { chunkEnvelope, codeInPlace, joinStripe, objectId, PACK_BUFFER_OFFSET, PACK_ID_TAG, PACK_TAIL_ID_TAG, PackBuilder, packId, PackWriter, readPackHeader, shardId, shardIds, shardLengthFor, stripePack, stripeRoots, verifyObjectId, verifyPackId, type Pack } from './index.ts';

const HEADER_KEY = fromHex('44'.repeat(32));
const SHARD_NAME_KEY = fromHex('55'.repeat(32));
const KEYS = { dataKey: fromHex('11'.repeat(32)), dedupKey: fromHex('22'.repeat(32)) };
/** Version 1, written by the first edition (id = hash of the whole pack): still read. */
const goldenV1 = JSON.parse(readFileSync(new URL('./__fixtures__/pack.json', import.meta.url), 'utf8')) as Record<string, string>;
const GOLDEN_V2 = new URL('./__fixtures__/pack-v2.json', import.meta.url);

function prng(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s & 0xff;
  }
  return out;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

/** A counter nonce source, for deterministic fixtures. */
function counterNonces(start: number): () => Uint8Array {
  let n = start;
  return () => {
    const nonce = new Uint8Array(12);
    new DataView(nonce.buffer).setUint32(8, n++);
    return nonce;
  };
}

async function goldenPack(): Promise<Pack> {
  const cipher = await ChunkCipher.create(KEYS);
  const nonce = counterNonces(1);
  const builder = new PackBuilder(HEADER_KEY, { headerNonce: counterNonces(1000) });
  for (const text of ['first chunk', 'second chunk', 'third']) expect(await builder.add(await cipher.seal(utf8(text), { nonce: nonce() }))).toBeNull();
  return (await builder.flush())!;
}

describe('packs', () => {
  it('match the committed golden version-2 pack and stripe byte for byte', async () => {
    const pack = await goldenPack();
    const stripe = stripePack(pack.bytes, pack.id, 4, 2, SHARD_NAME_KEY);
    expectGolden(GOLDEN_V2, { packId: pack.id, packHex: toHex(pack.bytes), shardIds: stripe.shardIds, shardRoots: stripeRoots(stripe).map(toHex) });
  });

  it('have the documented layout, a readable header and an id hashed over the tail only', async () => {
    const pack = await goldenPack();
    expect(pack.bytes[0]).toBe(2);
    expect(pack.id).toBe(await packId(pack.bytes));
    const h = new DataView(pack.bytes.buffer, pack.bytes.byteOffset).getUint32(pack.bytes.length - 4, true);
    expect(pack.id).toBe(toHex(taggedHash(PACK_TAIL_ID_TAG, new Uint8Array([2]), pack.bytes.subarray(pack.bytes.length - 4 - h))));
    expect(pack.id).not.toBe(await objectId(pack.bytes));
    const entries = await readPackHeader(pack.bytes, HEADER_KEY);
    expect(entries).toEqual(pack.entries);
    expect(entries[0]!.offset).toBe(1);
    expect(entries.map((e) => e.plaintextLength)).toEqual([11, 12, 5]);
    const cipher = await ChunkCipher.create(KEYS);
    for (const [i, text] of ['first chunk', 'second chunk', 'third'].entries()) {
      const e = entries[i]!;
      expect(new TextDecoder().decode(await cipher.open(e.id, chunkEnvelope(pack.bytes, entries, e.id)))).toBe(text);
    }
    expect(() => chunkEnvelope(pack.bytes, entries, '00'.repeat(32) as ChunkId)).toThrow(ChunkNotInPackError);
  });

  it('close before exceeding the target; an oversized chunk gets a pack of its own', async () => {
    const cipher = await ChunkCipher.create(KEYS);
    const target = 100_000;
    const builder = new PackBuilder(HEADER_KEY, { targetBytes: target });
    const packs: Pack[] = [];
    const sizes = [30_000, 30_000, 30_000, 30_000, 150_000, 10_000, 50_000, 45_000];
    for (const [i, size] of sizes.entries()) {
      const closed = await builder.add(await cipher.seal(prng(size, i + 1)));
      if (closed) packs.push(closed);
      expect(builder.pendingBytes).toBeLessThanOrEqual(Math.max(target, size + 200));
    }
    packs.push((await builder.flush())!);
    expect(await builder.flush()).toBeNull();
    expect(packs.map((p) => p.entries.map((e) => e.plaintextLength))).toEqual([[30_000, 30_000, 30_000], [30_000], [150_000], [10_000, 50_000], [45_000]]);
    for (const p of packs) {
      if (p.entries.length > 1) expect(p.bytes.length).toBeLessThanOrEqual(target);
      expect(await readPackHeader(p.bytes, HEADER_KEY)).toEqual(p.entries);
    }
  });

  it('are built in place by PackWriter: same bytes as PackBuilder, id hashed in place, room for shards', async () => {
    const cipher = await ChunkCipher.create(KEYS);
    const sealed = await Promise.all([40_000, 30_000, 20_000].map((n, i) => cipher.seal(prng(n, 20 + i))));
    const builder = new PackBuilder(HEADER_KEY, { headerNonce: counterNonces(7), targetBytes: 100_000 });
    for (const c of sealed) expect(await builder.add(c)).toBeNull();
    const viaBuilder = (await builder.flush())!;

    const room = (n: number): number => shardLengthFor(n, 4) * 6;
    const writer = new PackWriter(HEADER_KEY, { headerNonce: counterNonces(7), targetBytes: 100_000, room });
    for (const c of sealed) {
      expect(writer.mustCloseFor(c.envelope.length)).toBe(false);
      const slot = writer.reserve(c.id, c.idBytes, c.envelope.length, c.plaintextLength);
      slot.buffer.set(c.envelope, slot.offset);
    }
    expect(writer.mustCloseFor(10_000)).toBe(true);
    expect(() => writer.reserve(sealed[0]!.id, sealed[0]!.idBytes, 10_000, 10_000 - ENVELOPE_OVERHEAD)).toThrow(InvalidArgumentError);
    const written = (await writer.close())!;
    expect(toHex(written.bytes)).toBe(toHex(viaBuilder.bytes));
    expect(toHex(written.idBytes)).toBe(viaBuilder.id);
    expect(viaBuilder.id).toBe(await packId(viaBuilder.bytes));
    expect(written.buffer.length).toBeGreaterThanOrEqual(PACK_BUFFER_OFFSET + room(written.bytes.length));
    expect(await writer.close()).toBeNull();

    // The shards are then cut in place: the same as stripePack of a copy of the pack.
    const stripe = stripePack(viaBuilder.bytes, viaBuilder.id, 4, 2, SHARD_NAME_KEY);
    const inPlace = codeInPlace(written.buffer, PACK_BUFFER_OFFSET, written.bytes.length, 4, 2);
    expect(inPlace.shardLength).toBe(stripe.shardLength);
    expect(inPlace.shards.map(toHex)).toEqual(stripe.shards.map(toHex));
    expect(inPlace.shards.every((sh) => sh.buffer === written.buffer.buffer)).toBe(true);
    expect(shardIds(SHARD_NAME_KEY, viaBuilder.id, 6)).toEqual(stripe.shardIds);
    expect(() => codeInPlace(new Uint8Array(100), 0, 90, 4, 2)).toThrow(InvalidArgumentError);
  });

  it('move a pack far below the target (a file\'s last) to a buffer of its own size', async () => {
    const cipher = await ChunkCipher.create(KEYS);
    const writer = new PackWriter(HEADER_KEY, { targetBytes: 8 * 1024 * 1024 });
    const c = await cipher.seal(prng(1000, 30));
    writer.reserve(c.id, c.idBytes, c.envelope.length, c.plaintextLength).buffer.set(c.envelope, PACK_BUFFER_OFFSET + 1);
    const written = (await writer.close())!;
    expect(written.buffer.length).toBeLessThan(4096);
    expect(await readPackHeader(written.bytes, HEADER_KEY)).toEqual(written.entries);
  });

  it('reject a tampered, truncated or unknown-version pack with typed errors', async () => {
    const pack = (await goldenPack()).bytes;
    const tampered = pack.slice();
    tampered[pack.length - 10]! ^= 1;
    expect(await rejection(readPackHeader(tampered, HEADER_KEY))).toBeInstanceOf(IntegrityError);
    const v3 = pack.slice();
    v3[0] = 3;
    expect(await rejection(readPackHeader(v3, HEADER_KEY))).toBeInstanceOf(UnsupportedVersionError);
    // Bytes that are not a version-2 pack get the whole-bytes id (the stronger check).
    expect(await packId(v3)).toBe(await objectId(v3));
    expect(await rejection(packId(pack.subarray(0, 20)))).toBeInstanceOf(MalformedError);
    expect(await rejection(readPackHeader(pack.subarray(0, 20), HEADER_KEY))).toBeInstanceOf(MalformedError);
    const badLength = pack.slice();
    new DataView(badLength.buffer).setUint32(pack.length - 4, pack.length, true);
    expect(await rejection(readPackHeader(badLength, HEADER_KEY))).toBeInstanceOf(MalformedError);
    expect(await rejection(readPackHeader(pack, fromHex('45'.repeat(32))))).toBeInstanceOf(IntegrityError);
    expect(await rejection(verifyPackId(tampered, await packId(pack)))).toBeInstanceOf(IntegrityError);
    // A version-2 pack rewritten as version 1 is checked by the whole-bytes rule, and fails.
    const downgraded = pack.slice();
    downgraded[0] = 1;
    expect(await rejection(verifyPackId(downgraded, await packId(pack)))).toBeInstanceOf(IntegrityError);
    expect(ENVELOPE_OVERHEAD).toBe(29);
  });

  it('version 2: a changed blob passes the tail id but is rejected when its chunk is opened', async () => {
    const golden = await goldenPack();
    const pack = golden.bytes.slice();
    pack[golden.entries[1]!.offset + 20]! ^= 1;
    await verifyPackId(pack, golden.id);
    const entries = await readPackHeader(pack, HEADER_KEY);
    const cipher = await ChunkCipher.create(KEYS);
    expect(await rejection(cipher.open(entries[1]!.id, chunkEnvelope(pack, entries, entries[1]!.id)))).toBeInstanceOf(IntegrityError);
    expect(new TextDecoder().decode(await cipher.open(entries[0]!.id, chunkEnvelope(pack, entries, entries[0]!.id)))).toBe('first chunk');
  });

  it('read version-1 packs: the committed first-edition pack verifies by its whole-bytes id and opens', async () => {
    const pack = fromHex(goldenV1.packHex!);
    expect(pack[0]).toBe(1);
    expect(await packId(pack)).toBe(goldenV1.packId);
    expect(await objectId(pack)).toBe(goldenV1.packId);
    expect(goldenV1.packId).toBe(toHex(taggedHash(PACK_ID_TAG, pack)));
    await verifyPackId(pack, goldenV1.packId as PackId);
    await verifyObjectId(pack, goldenV1.packId as PackId);
    const entries = await readPackHeader(pack, HEADER_KEY);
    const cipher = await ChunkCipher.create(KEYS);
    const texts = await Promise.all(entries.map(async (e) => new TextDecoder().decode(await cipher.open(e.id, chunkEnvelope(pack, entries, e.id)))));
    expect(texts).toEqual(['first chunk', 'second chunk', 'third']);
    // Any changed byte of a version-1 pack fails its id, blobs included.
    const changed = pack.slice();
    changed[entries[1]!.offset + 20]! ^= 1;
    expect(await rejection(verifyPackId(changed, goldenV1.packId as PackId))).toBeInstanceOf(IntegrityError);
    const stripe = stripePack(pack, goldenV1.packId as PackId, 4, 2, SHARD_NAME_KEY);
    expect(stripe.shardIds).toEqual(goldenV1.shardIds);
    expect(stripeRoots(stripe).map(toHex)).toEqual(goldenV1.shardRoots);
    expect(bytesEqual(await joinStripe([null, ...stripe.shards.slice(1, 4), null, stripe.shards[5]!], 4, pack.length, goldenV1.packId as PackId), pack)).toBe(true);
  });
});

describe('stripes', () => {
  it('join from the data shards alone, or from any one copy when k = 1 (no copy of the pack then), and refuse unequal shards', async () => {
    const pack = await goldenPack();
    const wide = stripePack(pack.bytes, pack.id, 4, 2, SHARD_NAME_KEY);
    expect(bytesEqual(await joinStripe([...wide.shards.slice(0, 4), null, null], 4, pack.bytes.length, pack.id), pack.bytes)).toBe(true);
    const copies = stripePack(pack.bytes, pack.id, 1, 2, SHARD_NAME_KEY);
    for (const i of [0, 1, 2]) {
      const only = copies.shards.map((sh, j) => (j === i ? sh : null));
      const joined = await joinStripe(only, 1, pack.bytes.length, pack.id);
      expect(bytesEqual(joined, pack.bytes)).toBe(true);
      expect(joined.buffer).toBe(copies.shards[i]!.buffer);
    }
    const short = [...wide.shards.slice(0, 3), wide.shards[3]!.subarray(1), null, null];
    expect(await rejection(joinStripe(short, 4, pack.bytes.length, pack.id))).toBeInstanceOf(ShardLengthError);
    expect(await rejection(joinStripe([null, null, null], 1, pack.bytes.length, pack.id))).toBeInstanceOf(NotEnoughShardsError);
  });

  it('name shards with HMAC(shard-name key, pack id ‖ index)', async () => {
    const pack = await goldenPack();
    const stripe = stripePack(pack.bytes, pack.id, 4, 2, SHARD_NAME_KEY);
    expect(new Set(stripe.shardIds).size).toBe(6);
    expect(shardId(SHARD_NAME_KEY, pack.id, 0)).toBe(stripe.shardIds[0]);
    expect(shardId(fromHex('56'.repeat(32)), pack.id, 0)).not.toBe(stripe.shardIds[0]);
    expect(bytesEqual(await joinStripe([null, null, ...stripe.shards.slice(2)], 4, pack.bytes.length, pack.id), pack.bytes)).toBe(true);
  });

  it('pad to equal, aligned shards and rejoin from any k shards', async () => {
    const bytes = prng(1_000_003, 9);
    const id = await objectId(bytes);
    const stripe = stripePack(bytes, id, 4, 2, SHARD_NAME_KEY);
    expect(stripe.shardLength).toBe(shardLengthFor(bytes.length, 4));
    expect(stripe.shardLength % 64).toBe(0);
    expect(stripe.shardLength * 4).toBeGreaterThanOrEqual(bytes.length);
    for (const s of stripe.shards) expect(s.length).toBe(stripe.shardLength);
    for (const lost of [[], [0], [5], [0, 1], [2, 4], [3, 5]]) {
      const shards = stripe.shards.map((s, i) => (lost.includes(i) ? null : s));
      expect(bytesEqual(await joinStripe(shards, 4, bytes.length, id, undefined, 'object'), bytes)).toBe(true);
    }
    expect(await rejection(joinStripe([null, null, null, ...stripe.shards.slice(3)], 4, bytes.length, id, undefined, 'object'))).toBeInstanceOf(NotEnoughShardsError);
  });

  it('drop a corrupt shard by its Merkle root, and detect a wrong pack', async () => {
    const bytes = prng(300_000, 10);
    const id = await objectId(bytes);
    const stripe = stripePack(bytes, id, 3, 2, SHARD_NAME_KEY);
    const roots = stripe.shards.map((s) => merkleRoot(s));
    const shards: (Uint8Array | null)[] = stripe.shards.map((s) => s.slice());
    shards[1]![500]! ^= 1;
    expect(bytesEqual(await joinStripe(shards, 3, bytes.length, id, roots, 'object'), bytes)).toBe(true);
    expect(await rejection(joinStripe(shards, 3, bytes.length, id, undefined, 'object'))).toBeInstanceOf(IntegrityError);
    expect(await rejection(joinStripe(stripe.shards, 3, bytes.length, '00'.repeat(32) as PackId, undefined, 'object'))).toBeInstanceOf(IntegrityError);
  });
});
