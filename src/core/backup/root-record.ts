/**
 * Sealing a root record with a signer instead of a raw private key. The app keeps the identity
 * key as a non-extractable WebCrypto key and signs through `signTagged`, so it cannot call
 * `sealRootRecord` (which takes the private key). This builds the very same bytes (docs/DESIGN.md
 * §4.11): Ed25519 is deterministic, so for equal inputs both functions give identical records.
 */
import { ROOT_RECORD_VERSION } from '../constants.ts';
import { seal, type AesKey } from '../crypto/envelope.ts';
import { BinaryWriter } from '../encoding/binary.ts';
import { InvalidArgumentError, MalformedError } from '../errors.ts';
import { encodeRootRecordBody, ROOT_RECORD_TAG, verifyRootRecord, type RootRecordBody, type SealRootRecordOptions } from '../manifest/root-record.ts';

/** Signs `utf8(tag) ‖ 0x00 ‖ message` with the owner's identity key (`LocalIdentity.signTagged`). */
export type TaggedSigner = (tag: string, message: Uint8Array) => Promise<Uint8Array>;

/**
 * Encrypts `body` with the root-record key and signs the record through `sign`. Checks the
 * signature before returning, so a signer bound to another key fails here
 * (`SignatureError`) rather than at every holder.
 */
export async function sealRootRecordWith(
  sign: TaggedSigner, publicKey: Uint8Array, rootRecordKey: AesKey, seq: number, body: RootRecordBody, options: SealRootRecordOptions = {},
): Promise<Uint8Array> {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new MalformedError('root record', 'seq must be a non-negative safe integer');
  if (publicKey.length !== 32) throw new InvalidArgumentError('an Ed25519 public key is 32 bytes');
  const envelope = await seal(rootRecordKey, 'backpact/v1/root-record', encodeRootRecordBody(body), options.nonce ? { nonce: options.nonce } : {});
  const signed = new BinaryWriter()
    .u8(ROOT_RECORD_VERSION)
    .raw(publicKey)
    .u64(seq)
    .i64(options.createdAt ?? Date.now())
    .bytes(envelope)
    .finish();
  const signature = await sign(ROOT_RECORD_TAG, signed);
  const out = new Uint8Array(signed.length + signature.length);
  out.set(signed);
  out.set(signature, signed.length);
  verifyRootRecord(out, { expectedOwner: publicKey });
  return out;
}
