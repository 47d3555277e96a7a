import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from '../encoding/bytes.ts';
import { IntegrityError, MalformedError, SignatureError, StaleRecordError, UnsupportedVersionError } from '../errors.ts';
import type { ChunkId, PackId, PeerId, ShardId, SnapshotId } from '../ids.ts';
import { identityFromPrivateKey } from '../keys/identity.ts';
import { shardLengthFor } from '../pack/shards.ts';
import { expectGolden } from '../test-support/golden.ts';
import {
  decodeManifest, decodeRootRecordBody, encodeManifest, encodeRootRecordBody, openManifest, openRootRecord, sealManifest,
  sealRootRecord, snapshotId, verifyRootRecord, type PackPlacement, type RootRecordBody, type SnapshotManifest,
} from './index.ts';

const INDEX_KEY = fromHex('66'.repeat(32));
const ROOT_KEY = fromHex('77'.repeat(32));
const NONCE = fromHex('0102030405060708090a0b0c');
const OWNER = identityFromPrivateKey(fromHex('88'.repeat(32)));
const PARTNER_A = identityFromPrivateKey(fromHex('99'.repeat(32)));
const PARTNER_B = identityFromPrivateKey(fromHex('aa'.repeat(32)));

const hex = (byte: string): string => byte.repeat(32);

function placement(id: string, length: number, k: number, m: number, holders: (PeerId | null)[]): PackPlacement {
  return {
    packId: hex(id) as PackId,
    length,
    dataCount: k,
    parityCount: m,
    shardLength: shardLengthFor(length, k),
    shards: Array.from({ length: k + m }, (_, i) => ({
      id: (id + i.toString(16).padStart(2, '0')).repeat(16).slice(0, 64) as ShardId,
      holder: holders[i % holders.length] ?? null,
      merkleRoot: new Uint8Array(32).fill(i + 1),
    })),
  };
}

/** A small but complete manifest: two packs, shared chunks, a directory, an empty file, Unicode. */
function sampleManifest(): SnapshotManifest {
  const c = (b: string): ChunkId => hex(b) as ChunkId;
  return {
    createdAt: 1_764_000_000_000,
    label: 'laptop',
    parent: hex('5e') as SnapshotId,
    packs: [placement('b0', 5_000_000, 4, 2, [PARTNER_A.peerId, PARTNER_B.peerId, null]), placement('a0', 1_200_000, 2, 1, [PARTNER_B.peerId])],
    chunks: [
      { id: c('c3'), packId: hex('a0') as PackId, offset: 1, length: 1_000_029, plaintextLength: 1_000_000 },
      { id: c('c1'), packId: hex('b0') as PackId, offset: 1, length: 2_000_029, plaintextLength: 2_000_000 },
      { id: c('c2'), packId: hex('b0') as PackId, offset: 2_000_030, length: 300_029, plaintextLength: 300_000 },
    ],
    files: [
      { path: 'photos/été.jpg', kind: 'file', size: 2_300_000, mtime: 1_700_000_000_123, chunks: [c('c1'), c('c2')] },
      { path: 'photos', kind: 'directory', size: 0, mtime: 1_700_000_000_000, chunks: [] },
      { path: 'notes/empty.txt', kind: 'file', size: 0, mtime: -5, chunks: [] },
      { path: 'notes/twice.bin', kind: 'file', size: 2_000_000, mtime: 0, chunks: [c('c3'), c('c3')] },
    ],
  };
}

function sampleBody(): RootRecordBody {
  return {
    snapshots: [
      { id: hex('5f') as SnapshotId, createdAt: 1_764_000_000_000, manifest: placement('d0', 40_000, 2, 2, [PARTNER_A.peerId, PARTNER_B.peerId]) },
      { id: hex('5e') as SnapshotId, createdAt: 1_763_000_000_000, manifest: placement('d1', 30_000, 1, 2, [PARTNER_B.peerId]) },
    ],
    partners: [
      { publicKey: PARTNER_B.publicKey, label: 'Bea' },
      { publicKey: PARTNER_A.publicKey, label: 'Ali' },
    ],
  };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

describe('snapshot manifest', () => {
  it('encodes byte for byte as the committed fixture (plaintext, id and envelope)', async () => {
    const plaintext = encodeManifest(sampleManifest());
    const sealed = await sealManifest(INDEX_KEY, sampleManifest(), { nonce: NONCE });
    expectGolden(new URL('./__fixtures__/manifest.json', import.meta.url), {
      plaintext: toHex(plaintext),
      snapshotId: snapshotId(plaintext),
      envelope: toHex(sealed.envelope),
    });
    expect(sealed.id).toBe(snapshotId(plaintext));
  });

  it('is canonical: input order does not matter, and decode inverts encode', () => {
    const m = sampleManifest();
    const shuffled: SnapshotManifest = { ...m, packs: [...m.packs].reverse(), chunks: [...m.chunks].reverse(), files: [...m.files].reverse() };
    const bytes = encodeManifest(m);
    expect(toHex(encodeManifest(shuffled))).toBe(toHex(bytes));
    const decoded = decodeManifest(bytes);
    expect(toHex(encodeManifest(decoded))).toBe(toHex(bytes));
    expect(decoded.files.map((f) => f.path)).toEqual(['notes/empty.txt', 'notes/twice.bin', 'photos', 'photos/été.jpg']);
    expect(decoded.files[3]!.chunks).toEqual([hex('c1'), hex('c2')]);
    expect(decoded.packs[1]!.shards[2]!.holder).toBeNull();
    expect(decoded.parent).toBe(hex('5e'));
  });

  it('round-trips through the encrypted envelope and checks the snapshot id', async () => {
    const sealed = await sealManifest(INDEX_KEY, sampleManifest());
    const opened = await openManifest(INDEX_KEY, sealed.envelope, sealed.id);
    expect(toHex(encodeManifest(opened))).toBe(toHex(encodeManifest(sampleManifest())));
    expect(await rejection(openManifest(INDEX_KEY, sealed.envelope, hex('00') as SnapshotId))).toBeInstanceOf(IntegrityError);
    expect(await rejection(openManifest(ROOT_KEY, sealed.envelope))).toBeInstanceOf(IntegrityError);
  });

  it('rejects every truncation, trailing bytes and an unknown version', () => {
    const bytes = encodeManifest(sampleManifest());
    for (let n = 0; n < bytes.length; n++) expect(thrown(() => decodeManifest(bytes.subarray(0, n))), `prefix ${n}`).toBeInstanceOf(MalformedError);
    expect(thrown(() => decodeManifest(new Uint8Array([...bytes, 0])))).toBeInstanceOf(MalformedError);
    const v2 = bytes.slice();
    v2[0] = 2;
    expect(thrown(() => decodeManifest(v2))).toBeInstanceOf(UnsupportedVersionError);
  });

  it('rejects inconsistent content when encoding and when decoding', () => {
    const m = sampleManifest();
    const wrongSize = { ...m, files: [{ ...m.files[0]!, size: 1 }] };
    expect(thrown(() => encodeManifest(wrongSize))).toBeInstanceOf(MalformedError);
    expect(thrown(() => encodeManifest({ ...m, files: [...m.files, m.files[0]!] }))).toBeInstanceOf(MalformedError);
    expect(thrown(() => encodeManifest({ ...m, chunks: m.chunks.slice(1) }))).toBeInstanceOf(MalformedError);
    expect(thrown(() => encodeManifest({ ...m, files: [{ ...m.files[1]!, size: 3 }] }))).toBeInstanceOf(MalformedError);
    // A chunk index pointing past the table: patch the last file's last u32 (its chunk index).
    const bytes = encodeManifest(m);
    const bad = bytes.slice();
    new DataView(bad.buffer).setUint32(bad.length - 4, 99, true);
    expect(thrown(() => decodeManifest(bad))).toBeInstanceOf(MalformedError);
  });
});

describe('root record', () => {
  const seal = (seq: number, body = sampleBody()): Promise<Uint8Array> =>
    sealRootRecord(OWNER, ROOT_KEY, seq, body, { nonce: NONCE, createdAt: 1_764_000_000_000 });

  it('encodes byte for byte as the committed fixture', async () => {
    const record = await seal(7);
    expectGolden(new URL('./__fixtures__/root-record.json', import.meta.url), {
      body: toHex(encodeRootRecordBody(sampleBody())),
      signedRecord: toHex(record),
    });
  });

  it('verifies without the key, and opens with it', async () => {
    const record = await seal(7);
    const info = verifyRootRecord(record, { expectedOwner: OWNER.peerId, knownSeq: 7 });
    expect(info).toMatchObject({ ownerId: OWNER.peerId, seq: 7, createdAt: 1_764_000_000_000 });
    const opened = await openRootRecord(record, ROOT_KEY, { expectedOwner: OWNER.publicKey });
    expect(opened.body.partners.map((p) => p.label)).toEqual(
      [PARTNER_A, PARTNER_B].sort((a, b) => (a.peerId < b.peerId ? -1 : 1)).map((p) => (p === PARTNER_A ? 'Ali' : 'Bea')),
    );
    expect(opened.body.snapshots.map((s) => s.id)).toEqual([hex('5f'), hex('5e')]);
    expect(toHex(encodeRootRecordBody(decodeRootRecordBody(encodeRootRecordBody(sampleBody()))))).toBe(toHex(encodeRootRecordBody(sampleBody())));
  });

  it('rejects an older sequence number than the known one', async () => {
    const record = await seal(7);
    expect(verifyRootRecord(record, { knownSeq: 6 }).seq).toBe(7);
    const err = thrown(() => verifyRootRecord(record, { knownSeq: 8 }));
    expect(err).toBeInstanceOf(StaleRecordError);
    expect(err).toMatchObject({ seq: 7, knownSeq: 8 });
  });

  it('rejects a bad signature: any flipped bit of the signed bytes or signature', async () => {
    const record = await seal(3);
    for (let pos = 1; pos < record.length; pos += 7) {
      const bad = record.slice();
      bad[pos]! ^= 0x10;
      const err = thrown(() => verifyRootRecord(bad));
      // A flip in the length field can also make the record unparseable.
      expect(err instanceof SignatureError || err instanceof MalformedError, `byte ${pos}`).toBe(true);
    }
    const sigFlip = record.slice();
    sigFlip[record.length - 1]! ^= 1;
    expect(thrown(() => verifyRootRecord(sigFlip))).toBeInstanceOf(SignatureError);
  });

  it("rejects another owner's record when an owner is expected", async () => {
    const other = await sealRootRecord(PARTNER_A, ROOT_KEY, 9, sampleBody());
    expect(thrown(() => verifyRootRecord(other, { expectedOwner: OWNER.peerId }))).toBeInstanceOf(SignatureError);
    expect(thrown(() => verifyRootRecord(other, { expectedOwner: OWNER.publicKey }))).toBeInstanceOf(SignatureError);
  });

  it('rejects an unknown version and truncated or malformed bytes', async () => {
    const record = await seal(1);
    const v2 = record.slice();
    v2[0] = 2;
    expect(thrown(() => verifyRootRecord(v2))).toBeInstanceOf(UnsupportedVersionError);
    for (const n of [0, 1, 40, 52, 53, 100, record.length - 65, record.length - 1]) {
      expect(thrown(() => verifyRootRecord(record.subarray(0, n))), `prefix ${n}`).toBeInstanceOf(MalformedError);
    }
    expect(thrown(() => verifyRootRecord(new Uint8Array([...record, 0])))).toBeInstanceOf(MalformedError);
    expect(thrown(() => decodeRootRecordBody(utf8('\u0002')))).toBeInstanceOf(UnsupportedVersionError);
    expect(thrown(() => decodeRootRecordBody(encodeRootRecordBody(sampleBody()).subarray(0, 30)))).toBeInstanceOf(MalformedError);
  });

  it('does not open with the wrong key', async () => {
    expect(await rejection(openRootRecord(await seal(1), INDEX_KEY))).toBeInstanceOf(IntegrityError);
  });
});
