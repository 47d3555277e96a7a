import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../encoding/bytes.ts';
import { LeafIndexError } from '../errors.ts';
import { hashLeaf, hashNode, hashRoot, leafCount, merkleRoot, MerkleTree, proveLeaf, verifyLeaf } from './index.ts';

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

const golden = JSON.parse(readFileSync(new URL('./__fixtures__/roots.json', import.meta.url), 'utf8')) as Record<string, string>;

describe('Merkle tree over 1 KiB leaves', () => {
  it('matches the committed roots (tags, leaf encoding and tree shape are a format)', () => {
    expect({
      empty: toHex(merkleRoot(new Uint8Array(0))),
      oneLeaf: toHex(merkleRoot(prng(1000, 1))),
      sevenLeaves: toHex(merkleRoot(prng(6 * 1024 + 5, 2))),
      eightLeaves: toHex(merkleRoot(prng(8 * 1024, 3))),
    }).toEqual(golden);
  });

  it('is built exactly as documented', () => {
    const shard = prng(3 * 1024 + 10, 4);
    const l = [0, 1, 2, 3].map((i) => hashLeaf(i, shard.subarray(i * 1024, Math.min(shard.length, (i + 1) * 1024))));
    expect(toHex(merkleRoot(shard))).toBe(toHex(hashRoot(4, hashNode(hashNode(l[0]!, l[1]!), hashNode(l[2]!, l[3]!)))));
    const three = prng(2 * 1024 + 1, 5);
    const m = [0, 1, 2].map((i) => hashLeaf(i, three.subarray(i * 1024, Math.min(three.length, (i + 1) * 1024))));
    // The odd last node is promoted, not duplicated.
    expect(toHex(merkleRoot(three))).toBe(toHex(hashRoot(3, hashNode(hashNode(m[0]!, m[1]!), m[2]!))));
    expect(leafCount(0)).toBe(1);
    expect(leafCount(1024)).toBe(1);
    expect(leafCount(1025)).toBe(2);
  });

  it('proves and verifies every leaf, for many shard lengths', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 * 1024 }), fc.integer({ min: 1, max: 1000 }), (length, seed) => {
        const shard = prng(length, seed);
        const tree = MerkleTree.build(shard);
        expect(toHex(tree.root)).toBe(toHex(merkleRoot(shard)));
        for (let i = 0; i < tree.leafCount; i++) {
          const { leaf, path } = tree.prove(i);
          expect(verifyLeaf(tree.root, i, tree.leafCount, leaf, path)).toBe(true);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('rejects a wrong leaf, path, index, leaf count or root', () => {
    const shard = prng(13 * 1024 + 77, 6);
    const tree = MerkleTree.build(shard);
    const n = tree.leafCount;
    const { leaf, path } = proveLeaf(shard, 5);
    const root = tree.root;
    expect(verifyLeaf(root, 5, n, leaf, path)).toBe(true);
    const badLeaf = leaf.slice();
    badLeaf[100]! ^= 1;
    expect(verifyLeaf(root, 5, n, badLeaf, path)).toBe(false);
    expect(verifyLeaf(root, 5, n, leaf.subarray(0, 1023), path)).toBe(false);
    expect(verifyLeaf(root, 4, n, leaf, path)).toBe(false);
    expect(verifyLeaf(root, 5, n + 1, leaf, path)).toBe(false);
    expect(verifyLeaf(root, 5, n, leaf, path.slice(0, -1))).toBe(false);
    expect(verifyLeaf(root, 5, n, leaf, [...path, path[0]!])).toBe(false);
    const badPath = path.map((p) => p.slice());
    badPath[1]![0]! ^= 1;
    expect(verifyLeaf(root, 5, n, leaf, badPath)).toBe(false);
    const badRoot = root.slice();
    badRoot[31]! ^= 1;
    expect(verifyLeaf(badRoot, 5, n, leaf, path)).toBe(false);
    expect(verifyLeaf(root, -1, n, leaf, path)).toBe(false);
    expect(verifyLeaf(root, n, n, leaf, path)).toBe(false);
    expect(verifyLeaf(root, 5, n, new Uint8Array(1025), path)).toBe(false);
  });

  it('does not accept an internal node as a leaf (second preimage)', () => {
    const shard = prng(4 * 1024, 7);
    const tree = MerkleTree.build(shard);
    // The 64 bytes of an internal node's children, offered as a leaf of a 2-leaf tree, fail.
    const l = [0, 1, 2, 3].map((i) => hashLeaf(i, shard.subarray(i * 1024, (i + 1) * 1024)));
    const fakeLeaf = new Uint8Array([...l[0]!, ...l[1]!]);
    expect(verifyLeaf(tree.root, 0, 2, fakeLeaf, [hashNode(l[2]!, l[3]!)])).toBe(false);
  });

  it('throws LeafIndexError for out-of-range proofs', () => {
    const tree = MerkleTree.build(prng(2048, 8));
    expect(() => tree.prove(2)).toThrow(LeafIndexError);
    expect(() => tree.prove(-1)).toThrow(LeafIndexError);
  });
});
