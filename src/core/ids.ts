/**
 * Branded id types, so one kind of id cannot be passed where another is expected. At run time each
 * is a plain string; the brand exists only for the type checker.
 *
 * Spellings (see docs/DESIGN.md §4):
 * - {@link PeerId}: 32 lower-case base32 characters (160 bits of a tagged SHA-256 of the public key).
 * - {@link ChunkId}, {@link PackId}, {@link ShardId}, {@link SnapshotId}: 64 lower-case hex
 *   characters (32 bytes).
 */
import { InvalidArgumentError } from './errors.ts';

declare const brand: unique symbol;

/** `T` tagged with the name `B`. */
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A user (identity key) id, derived from the Ed25519 public key. */
export type PeerId = Brand<string, 'PeerId'>;
/** HMAC-SHA256(dedup key, chunk plaintext), hex. */
export type ChunkId = Brand<string, 'ChunkId'>;
/** Tagged SHA-256 of a pack's bytes, hex. */
export type PackId = Brand<string, 'PackId'>;
/** HMAC-SHA256(shard-name key, pack id ‖ shard index), hex. */
export type ShardId = Brand<string, 'ShardId'>;
/** Tagged SHA-256 of a snapshot manifest's plaintext encoding, hex. */
export type SnapshotId = Brand<string, 'SnapshotId'>;

const HEX64 = /^[0-9a-f]{64}$/;
const BASE32_32 = /^[a-z2-7]{32}$/;

function check(pattern: RegExp, kind: string, value: string): void {
  if (!pattern.test(value)) throw new InvalidArgumentError(`not a valid ${kind}: ${JSON.stringify(value)}`);
}

/** Validates and brands a PeerId string. Throws {@link InvalidArgumentError}. */
export function asPeerId(value: string): PeerId {
  check(BASE32_32, 'PeerId', value);
  return value as PeerId;
}

/** Validates and brands a ChunkId string. Throws {@link InvalidArgumentError}. */
export function asChunkId(value: string): ChunkId {
  check(HEX64, 'ChunkId', value);
  return value as ChunkId;
}

/** Validates and brands a PackId string. Throws {@link InvalidArgumentError}. */
export function asPackId(value: string): PackId {
  check(HEX64, 'PackId', value);
  return value as PackId;
}

/** Validates and brands a ShardId string. Throws {@link InvalidArgumentError}. */
export function asShardId(value: string): ShardId {
  check(HEX64, 'ShardId', value);
  return value as ShardId;
}

/** Validates and brands a SnapshotId string. Throws {@link InvalidArgumentError}. */
export function asSnapshotId(value: string): SnapshotId {
  check(HEX64, 'SnapshotId', value);
  return value as SnapshotId;
}
