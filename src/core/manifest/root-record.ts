/**
 * The root record (the founding design's "master block"): the signed, encrypted pointer to the
 * latest snapshots and the partner list, with a sequence number. It is replicated in full to every
 * partner; holders keep the one with the highest sequence number, which they can check without
 * being able to read it.
 *
 * Signed record, version 1 (little-endian):
 *
 *   offset  size  field
 *   0       1     version = 0x01
 *   1       32    owner's Ed25519 public key
 *   33      8     seq (u64), strictly increasing per owner
 *   41      8     createdAt (i64, ms since 1970)
 *   49      4     E, envelope length (u32)
 *   53      E     envelope (`../crypto/envelope.ts`, purpose backpact/v1/root-record, key = root-record key)
 *   53+E    64    Ed25519 signature, tag "backpact/v1/root-record", over bytes [0, 53 + E)
 *
 * Body (the envelope's plaintext), version 1:
 *   1   version = 0x01
 *   4   snapshot count, then per snapshot (newest first, as given):
 *         32 snapshot id, 8 createdAt (i64), placement of its manifest (`./placement.ts`)
 *   4   partner count, then per partner (sorted by PeerId):
 *         32 partner public key, label (u32 length ‖ UTF-8)
 *
 * Verification rejects, each with its own error: an unknown version
 * ({@link UnsupportedVersionError}), truncated or malformed bytes ({@link MalformedError}), a bad
 * signature or another owner's key ({@link SignatureError}), and a sequence number below one
 * already known ({@link StaleRecordError}).
 */
import { MAX_RECORD_BYTES, ROOT_RECORD_VERSION } from '../constants.ts';
import { BinaryReader, BinaryWriter } from '../encoding/binary.ts';
import { compareBytes, fromHex, toHex } from '../encoding/bytes.ts';
import { open, seal, type AesKey, type SealOptions } from '../crypto/envelope.ts';
import { MalformedError, SignatureError, StaleRecordError, UnsupportedVersionError } from '../errors.ts';
import type { PeerId, SnapshotId } from '../ids.ts';
import { peerIdFromPublicKey, signTagged, verifyTagged, type IdentityKeyPair } from '../keys/identity.ts';
import { checkPlacement, MIN_PLACEMENT_BYTES, readPlacement, writePlacement, type PackPlacement } from './placement.ts';

/** Signature tag of root records (FORMAT). */
export const ROOT_RECORD_TAG = 'backpact/v1/root-record';

const FORMAT = 'root record';
const HEADER_BYTES = 1 + 32 + 8 + 8 + 4;
const SIGNATURE_BYTES = 64;

/** A snapshot listed in the root record. */
export interface SnapshotRef {
  readonly id: SnapshotId;
  readonly createdAt: number;
  /** Where the sealed manifest's shards are. */
  readonly manifest: PackPlacement;
}

/** A partner listed in the root record, so a restoring device can recognise and pin it. */
export interface PartnerRef {
  readonly publicKey: Uint8Array;
  readonly label: string;
}

/** The encrypted content of a root record. */
export interface RootRecordBody {
  readonly snapshots: readonly SnapshotRef[];
  readonly partners: readonly PartnerRef[];
}

/** What anyone can check about a signed root record without the key. */
export interface RootRecordInfo {
  readonly ownerId: PeerId;
  readonly publicKey: Uint8Array;
  readonly seq: number;
  readonly createdAt: number;
  /** The encrypted body. */
  readonly envelope: Uint8Array;
}

/** Options of {@link verifyRootRecord}. */
export interface VerifyRootRecordOptions {
  /** Reject records not signed by this owner (a PeerId or a public key). */
  expectedOwner?: PeerId | Uint8Array;
  /** Reject records with a lower sequence number (equal is accepted: the same record again). */
  knownSeq?: number;
}

/** Canonical body encoding. */
export function encodeRootRecordBody(body: RootRecordBody): Uint8Array {
  const w = new BinaryWriter().u8(ROOT_RECORD_VERSION).u32(body.snapshots.length);
  for (const s of body.snapshots) {
    checkPlacement(s.manifest, FORMAT);
    w.raw(fromHex(s.id)).i64(s.createdAt);
    writePlacement(w, s.manifest);
  }
  for (const p of body.partners) if (p.publicKey.length !== 32) throw new MalformedError(FORMAT, 'partner keys are 32 bytes');
  const partners = body.partners.map((p) => ({ p, id: peerIdFromPublicKey(p.publicKey) })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  w.u32(partners.length);
  let prev: string | null = null;
  for (const { p, id } of partners) {
    if (id === prev) throw new MalformedError(FORMAT, 'duplicate partner');
    prev = id;
    w.raw(p.publicKey).string(p.label);
  }
  return w.finish();
}

/** Decodes and validates a body. Throws {@link UnsupportedVersionError} or {@link MalformedError}. */
export function decodeRootRecordBody(bytes: Uint8Array): RootRecordBody {
  if (bytes.length === 0) throw new MalformedError(FORMAT, 'empty body');
  if (bytes[0] !== ROOT_RECORD_VERSION) throw new UnsupportedVersionError(`${FORMAT} body`, bytes[0]!);
  const r = new BinaryReader(bytes, FORMAT);
  r.u8();
  const snapshotCount = r.count(32 + 8 + MIN_PLACEMENT_BYTES);
  const snapshots: SnapshotRef[] = [];
  for (let i = 0; i < snapshotCount; i++) {
    const id = toHex(r.raw(32)) as SnapshotId;
    const createdAt = r.i64();
    snapshots.push({ id, createdAt, manifest: readPlacement(r, FORMAT) });
  }
  const partnerCount = r.count(36);
  const partners: PartnerRef[] = [];
  let prev: string | null = null;
  for (let i = 0; i < partnerCount; i++) {
    const publicKey = r.raw(32).slice();
    const label = r.string();
    const id = peerIdFromPublicKey(publicKey);
    if (prev !== null && prev >= id) throw new MalformedError(FORMAT, 'partners out of order or duplicated');
    prev = id;
    partners.push({ publicKey, label });
  }
  r.end();
  return { snapshots, partners };
}

/** Options of {@link sealRootRecord}. */
export interface SealRootRecordOptions extends SealOptions {
  /** Creation time, ms since 1970 (default: now). */
  createdAt?: number;
}

/** Encrypts `body` with the root-record key and signs the record with the identity key. */
export async function sealRootRecord(
  identity: IdentityKeyPair, rootRecordKey: AesKey, seq: number, body: RootRecordBody, options: SealRootRecordOptions = {},
): Promise<Uint8Array> {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new MalformedError(FORMAT, 'seq must be a non-negative safe integer');
  const envelope = await seal(rootRecordKey, 'backpact/v1/root-record', encodeRootRecordBody(body), options.nonce ? { nonce: options.nonce } : {});
  const signed = new BinaryWriter()
    .u8(ROOT_RECORD_VERSION)
    .raw(identity.publicKey)
    .u64(seq)
    .i64(options.createdAt ?? Date.now())
    .bytes(envelope)
    .finish();
  const signature = signTagged(identity.privateKey, ROOT_RECORD_TAG, signed);
  const out = new Uint8Array(signed.length + SIGNATURE_BYTES);
  out.set(signed);
  out.set(signature, signed.length);
  return out;
}

/**
 * Parses and verifies a signed root record without decrypting it — what a holder does before
 * keeping it. See the module comment for the errors.
 */
export function verifyRootRecord(bytes: Uint8Array, options: VerifyRootRecordOptions = {}): RootRecordInfo {
  if (bytes.length === 0) throw new MalformedError(FORMAT, 'empty');
  if (bytes[0] !== ROOT_RECORD_VERSION) throw new UnsupportedVersionError(FORMAT, bytes[0]!);
  if (bytes.length > MAX_RECORD_BYTES) throw new MalformedError(FORMAT, 'too large');
  if (bytes.length < HEADER_BYTES + SIGNATURE_BYTES) throw new MalformedError(FORMAT, 'truncated');
  const r = new BinaryReader(bytes, FORMAT);
  r.u8();
  const publicKey = r.raw(32).slice();
  const seq = r.u64();
  const createdAt = r.i64();
  const envelope = r.bytes().slice();
  const signedLength = bytes.length - r.remaining;
  const signature = r.raw(SIGNATURE_BYTES);
  r.end();
  if (!verifyTagged(publicKey, ROOT_RECORD_TAG, bytes.subarray(0, signedLength), signature)) throw new SignatureError(FORMAT);
  const ownerId = peerIdFromPublicKey(publicKey);
  const expected = options.expectedOwner;
  if (expected !== undefined) {
    const ok = typeof expected === 'string' ? expected === ownerId : compareBytes(expected, publicKey) === 0;
    if (!ok) throw new SignatureError(FORMAT);
  }
  if (options.knownSeq !== undefined && seq < options.knownSeq) throw new StaleRecordError(seq, options.knownSeq);
  return { ownerId, publicKey, seq, createdAt, envelope };
}

/** A verified, decrypted root record. */
export interface OpenedRootRecord extends RootRecordInfo {
  readonly body: RootRecordBody;
}

/**
 * Verifies (as {@link verifyRootRecord}) and decrypts a root record — what the owner does, e.g.
 * when restoring. Throws those errors, or {@link IntegrityError} when the body fails to decrypt.
 */
export async function openRootRecord(bytes: Uint8Array, rootRecordKey: AesKey, options: VerifyRootRecordOptions = {}): Promise<OpenedRootRecord> {
  const info = verifyRootRecord(bytes, options);
  const plaintext = await open(rootRecordKey, 'backpact/v1/root-record', info.envelope);
  return { ...info, body: decodeRootRecordBody(plaintext) };
}

