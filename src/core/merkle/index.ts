/**
 * Merkle trees over a shard's 1 KiB leaves, the basis of audits: the owner keeps only the root
 * (and the leaf count); a holder proves it still has leaf i by returning the leaf and the sibling
 * hashes on its path.
 *
 * - Leaves: the shard cut into {@link MERKLE_LEAF_BYTES}-byte slices, the last possibly shorter; an
 *   empty shard has one empty leaf. leafCount = max(1, ⌈length / 1024⌉).
 * - Leaf hash  = SHA-256("backpact/v1/merkle-leaf" ‖ 0x00 ‖ u32be(index) ‖ u32be(length) ‖ leaf).
 * - Node hash  = SHA-256("backpact/v1/merkle-node" ‖ 0x00 ‖ left ‖ right).
 * - Levels pair nodes left to right; an odd last node is promoted unchanged to the next level
 *   (not duplicated, which would let two different leaf lists share a root).
 * - Root = SHA-256("backpact/v1/merkle-root" ‖ 0x00 ‖ u32be(leafCount) ‖ top), where top is the
 *   single node of the top level (a one-leaf tree's top is its leaf hash).
 * Distinct tags keep a node from passing as a leaf; binding index and length into each leaf hash
 * stops a leaf being presented at another position or with other bytes appended; binding the
 * leaf count into the root fixes the tree's shape, so a proof checks against one shape only.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { MERKLE_LEAF_BYTES } from '../constants.ts';
import { bytesEqual, utf8 } from '../encoding/bytes.ts';
import { LeafIndexError } from '../errors.ts';
import { SHA256_IV, sha256Compress, sha256Digest } from '../crypto/sha256.ts';

/** Tag of leaf hashes (FORMAT). */
export const MERKLE_LEAF_TAG = 'backpact/v1/merkle-leaf';
/** Tag of internal node hashes (FORMAT). */
export const MERKLE_NODE_TAG = 'backpact/v1/merkle-node';
/** Tag of the root hash (FORMAT). */
export const MERKLE_ROOT_TAG = 'backpact/v1/merkle-root';

const LEAF_PREFIX = utf8(`${MERKLE_LEAF_TAG}\0`);
const NODE_PREFIX = utf8(`${MERKLE_NODE_TAG}\0`);
const ROOT_PREFIX = utf8(`${MERKLE_ROOT_TAG}\0`);

/** Number of leaves of a shard of `length` bytes. */
export function leafCount(length: number): number {
  return Math.max(1, Math.ceil(length / MERKLE_LEAF_BYTES));
}

/** Hash of leaf `index` with bytes `leaf`. */
export function hashLeaf(index: number, leaf: Uint8Array): Uint8Array {
  const h = sha256.create();
  const header = new Uint8Array(8);
  const view = new DataView(header.buffer);
  view.setUint32(0, index, false);
  view.setUint32(4, leaf.length, false);
  h.update(LEAF_PREFIX);
  h.update(header);
  h.update(leaf);
  return h.digest();
}

/** Hash of an internal node. */
export function hashNode(left: Uint8Array, right: Uint8Array): Uint8Array {
  const h = sha256.create();
  h.update(NODE_PREFIX);
  h.update(left);
  h.update(right);
  return h.digest();
}

/** The root of a tree of `count` leaves whose top node is `top`. */
export function hashRoot(count: number, top: Uint8Array): Uint8Array {
  const h = sha256.create();
  const n = new Uint8Array(4);
  new DataView(n.buffer).setUint32(0, count, false);
  h.update(ROOT_PREFIX);
  h.update(n);
  h.update(top);
  return h.digest();
}

/** A leaf and the sibling hashes from the leaf's level upwards (promoted levels contribute none). */
export interface LeafProof {
  readonly leaf: Uint8Array;
  readonly path: Uint8Array[];
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The 6 big-endian words of a 24-byte tag prefix. */
function prefixWords(prefix: Uint8Array): Int32Array {
  const out = new Int32Array(6);
  for (let i = 0; i < 6; i++) out[i] = readBE32Padded(prefix, 4 * i);
  return out;
}

function readBE32Padded(b: Uint8Array, i: number): number {
  return ((b[i] ?? 0) << 24) | ((b[i + 1] ?? 0) << 16) | ((b[i + 2] ?? 0) << 8) | (b[i + 3] ?? 0);
}

/** Both tag prefixes are 24 bytes, i.e. exactly 6 words, which the fast paths rely on. */
const LEAF_WORDS = prefixWords(LEAF_PREFIX);
const NODE_WORDS = prefixWords(NODE_PREFIX);

/** Scratch for the fast paths (module-level: JavaScript is single-threaded per realm). */
const W = new Int32Array(16);
const STATE = new Int32Array(8);

/**
 * Hashes every full 1 KiB leaf of a 4-byte-aligned shard into `out` (8 big-endian state words per
 * leaf), reading the shard as 32-bit words. The message is the 24-byte tag prefix, the 8-byte
 * header and the 1024-byte leaf: 17 blocks, whose word positions are fixed, so no byte copying.
 */
function hashFullLeaves(shard: Uint8Array, count: number, out: Int32Array): void {
  const view = new Int32Array(shard.buffer, shard.byteOffset, (count * MERKLE_LEAF_BYTES) >> 2);
  const w = W;
  const st = STATE;
  for (let leaf = 0; leaf < count; leaf++) {
    const base = leaf * (MERKLE_LEAF_BYTES >> 2);
    st.set(SHA256_IV);
    for (let i = 0; i < 6; i++) w[i] = LEAF_WORDS[i]!;
    w[6] = leaf;
    w[7] = MERKLE_LEAF_BYTES;
    for (let i = 0; i < 8; i++) w[8 + i] = bswap(view[base + i]!);
    sha256Compress(st, w);
    for (let b = 1; b < 16; b++) {
      const o = base + 16 * b - 8;
      for (let i = 0; i < 16; i++) w[i] = bswap(view[o + i]!);
      sha256Compress(st, w);
    }
    const o = base + 248;
    for (let i = 0; i < 8; i++) w[i] = bswap(view[o + i]!);
    w[8] = 0x80000000 | 0;
    for (let i = 9; i < 15; i++) w[i] = 0;
    w[15] = (24 + 8 + MERKLE_LEAF_BYTES) * 8;
    sha256Compress(st, w);
    out.set(st, leaf * 8);
  }
}

function bswap(x: number): number {
  return (x << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
}

/** Node hash from two 8-word digests at `l` and `r` of `src`, into `dst` at `d`. */
function hashNodeWords(src: Int32Array, l: number, r: number, dst: Int32Array, d: number): void {
  const w = W;
  const st = STATE;
  st.set(SHA256_IV);
  for (let i = 0; i < 6; i++) w[i] = NODE_WORDS[i]!;
  for (let i = 0; i < 8; i++) w[6 + i] = src[l + i]!;
  w[14] = src[r]!;
  w[15] = src[r + 1]!;
  sha256Compress(st, w);
  for (let i = 0; i < 6; i++) w[i] = src[r + 2 + i]!;
  w[6] = 0x80000000 | 0;
  for (let i = 7; i < 15; i++) w[i] = 0;
  w[15] = (24 + 64) * 8;
  sha256Compress(st, w);
  dst.set(st, d);
}

function wordsToBytes(words: Int32Array, offset: number): Uint8Array {
  const out = new Uint8Array(32);
  sha256Digest(words.subarray(offset, offset + 8), out);
  return out;
}

function bytesToWords(bytes: Uint8Array, out: Int32Array, offset: number): void {
  for (let i = 0; i < 8; i++) out[offset + i] = readBE32Padded(bytes, 4 * i);
}

/** A built tree: every level kept (as SHA-256 state words), so proofs need no rehashing. */
export class MerkleTree {
  private constructor(
    /** The shard the tree was built over (not copied). */
    private readonly shard: Uint8Array,
    /** levels[0] = leaf hashes, 8 words each; the last level has one node, the top. */
    private readonly levels: Int32Array[],
    /** The root (committing to the leaf count). */
    readonly root: Uint8Array,
  ) {}

  /** Builds the tree of `shard`. */
  static build(shard: Uint8Array): MerkleTree {
    const count = leafCount(shard.length);
    let level = new Int32Array(count * 8);
    const full = Math.floor(shard.length / MERKLE_LEAF_BYTES);
    let done = 0;
    if (LITTLE_ENDIAN && shard.byteOffset % 4 === 0 && full > 0) {
      hashFullLeaves(shard, full, level);
      done = full;
    }
    for (let i = done; i < count; i++) bytesToWords(hashLeaf(i, leafBytes(shard, i)), level, i * 8);
    const levels = [level];
    while (level.length > 8) {
      const n = level.length / 8;
      const next = new Int32Array(Math.ceil(n / 2) * 8);
      for (let i = 0; i + 1 < n; i += 2) hashNodeWords(level, i * 8, (i + 1) * 8, next, (i / 2) * 8);
      if (n % 2 === 1) next.set(level.subarray((n - 1) * 8), ((n - 1) / 2) * 8);
      levels.push(next);
      level = next;
    }
    return new MerkleTree(shard, levels, hashRoot(count, wordsToBytes(level, 0)));
  }

  /** Number of leaves. */
  get leafCount(): number {
    return this.levels[0]!.length / 8;
  }

  /** Proof for leaf `index`; throws {@link LeafIndexError} when out of range. */
  prove(index: number): LeafProof {
    if (!Number.isInteger(index) || index < 0 || index >= this.leafCount) throw new LeafIndexError(index, this.leafCount);
    const path: Uint8Array[] = [];
    let i = index;
    for (let l = 0; l < this.levels.length - 1; l++) {
      const level = this.levels[l]!;
      const sibling = i ^ 1;
      if (sibling < level.length / 8) path.push(wordsToBytes(level, sibling * 8));
      i >>= 1;
    }
    return { leaf: leafBytes(this.shard, index), path };
  }
}

function leafBytes(shard: Uint8Array, index: number): Uint8Array {
  return shard.subarray(index * MERKLE_LEAF_BYTES, Math.min(shard.length, (index + 1) * MERKLE_LEAF_BYTES));
}

/** Merkle root of `shard`. */
export function merkleRoot(shard: Uint8Array): Uint8Array {
  return MerkleTree.build(shard).root;
}

/** Proof for leaf `index` of a shard or a built tree. Throws {@link LeafIndexError}. */
export function proveLeaf(shardOrTree: Uint8Array | MerkleTree, index: number): LeafProof {
  const tree = shardOrTree instanceof MerkleTree ? shardOrTree : MerkleTree.build(shardOrTree);
  return tree.prove(index);
}

/**
 * True when `leaf` is leaf `index` of the tree with `root` and `leafCount` leaves, as shown by
 * `path`. Never throws: any malformed input (index out of range, wrong path length, a leaf longer
 * than a leaf can be) is false.
 */
export function verifyLeaf(root: Uint8Array, index: number, count: number, leaf: Uint8Array, path: readonly Uint8Array[]): boolean {
  if (!Number.isInteger(index) || !Number.isInteger(count) || index < 0 || index >= count || count < 1) return false;
  if (leaf.length > MERKLE_LEAF_BYTES) return false;
  let hash = hashLeaf(index, leaf);
  let i = index;
  let width = count;
  let p = 0;
  while (width > 1) {
    const sibling = i ^ 1;
    if (sibling < width) {
      const s = path[p++];
      if (!s || s.length !== 32) return false;
      hash = i & 1 ? hashNode(s, hash) : hashNode(hash, s);
    }
    i >>= 1;
    width = (width + 1) >> 1;
  }
  return p === path.length && root.length === 32 && bytesEqual(hashRoot(count, hash), root);
}
