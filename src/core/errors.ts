/**
 * Typed errors of the core engine: one class per failure, so callers branch on `instanceof` (or on
 * the stable `code` string once an error has crossed a worker boundary and lost its prototype).
 *
 * Hierarchy, and why:
 * - {@link IntegrityError}: bytes failed verification. A reader cannot tell corruption from
 *   tampering, and cannot verify bytes it cannot parse, so {@link MalformedError},
 *   {@link UnsupportedVersionError} and {@link SignatureError} are kinds of integrity failure:
 *   "this is not a record I can trust". Catching `IntegrityError` catches them all.
 * - Phrase errors share {@link InvalidPhraseError} so a form can catch one class and show the
 *   specific message.
 * - Everything else derives directly from {@link BackpactError}.
 */

/** Base class of every error the core throws on purpose. `code` is stable across releases. */
export abstract class BackpactError extends Error {
  /** Machine-readable, stable identifier of the failure (kebab-case). */
  abstract readonly code: string;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    // `new.target.name` keeps the subclass name after minification-free builds and in Node.
    this.name = new.target.name;
  }
}

/** A caller broke a documented precondition (a programming error, not bad data). */
export class InvalidArgumentError extends BackpactError {
  readonly code = 'invalid-argument';
}

// ---------------------------------------------------------------------------------------------
// Recovery phrase
// ---------------------------------------------------------------------------------------------

/** Base of the recovery-phrase validation errors. */
export abstract class InvalidPhraseError extends BackpactError {}

/** The phrase does not have the expected number of words. */
export class WordCountError extends InvalidPhraseError {
  readonly code = 'phrase-word-count';
  constructor(
    /** Number of words found. */
    readonly count: number,
    /** Number of words required. */
    readonly expected: number,
  ) {
    super(`The recovery phrase has ${count} words; it must have ${expected}.`);
  }
}

/** A word of the phrase is not in the BIP39 English word list. */
export class UnknownWordError extends InvalidPhraseError {
  readonly code = 'phrase-unknown-word';
  constructor(
    /** 1-based position of the word in the phrase, as a person counts. */
    readonly position: number,
    /** The word as typed (normalised to lower case). */
    readonly word: string,
  ) {
    super(`Word ${position} ("${word}") is not a recovery-phrase word.`);
  }
}

/** Every word is valid but the BIP39 checksum does not match: a word is wrong or misplaced. */
export class PhraseChecksumError extends InvalidPhraseError {
  readonly code = 'phrase-checksum';
  constructor() {
    super('The recovery phrase does not check out: a word is wrong or in the wrong place.');
  }
}

// ---------------------------------------------------------------------------------------------
// Integrity of stored and received bytes
// ---------------------------------------------------------------------------------------------

/** Bytes failed verification (authentication tag, hash, Merkle root, signature, structure). */
export class IntegrityError extends BackpactError {
  readonly code: string = 'integrity';
}

/** Bytes are truncated or structurally invalid for the format being decoded. */
export class MalformedError extends IntegrityError {
  override readonly code: string = 'malformed';
  constructor(
    /** Name of the format, e.g. `chunk-envelope`. */
    readonly format: string,
    /** What is wrong, for logs. */
    readonly reason: string,
  ) {
    super(`Malformed ${format}: ${reason}`);
  }
}

/** The format version byte is not one this build can read. */
export class UnsupportedVersionError extends IntegrityError {
  override readonly code: string = 'unsupported-version';
  constructor(
    /** Name of the format, e.g. `chunk-envelope`. */
    readonly format: string,
    /** Version found in the bytes. */
    readonly version: number,
  ) {
    super(`Unsupported ${format} version ${version}`);
  }
}

/** An Ed25519 signature does not verify under the expected public key. */
export class SignatureError extends IntegrityError {
  override readonly code: string = 'bad-signature';
  constructor(
    /** Name of the signed record, e.g. `root-record`. */
    readonly format: string,
  ) {
    super(`The ${format} signature does not verify`);
  }
}

/** A validly signed root record is older than one already seen: a replay or rollback. */
export class StaleRecordError extends BackpactError {
  readonly code = 'stale-record';
  constructor(
    /** Sequence number of the record offered. */
    readonly seq: number,
    /** Highest sequence number already known. */
    readonly knownSeq: number,
  ) {
    super(`Root record sequence ${seq} is older than the known ${knownSeq}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Erasure coding
// ---------------------------------------------------------------------------------------------

/** k and m are outside 1 ≤ k, 1 ≤ m, k + m ≤ 255. */
export class CodeParametersError extends BackpactError {
  readonly code = 'code-parameters';
  constructor(
    /** Data shard count. */
    readonly dataCount: number,
    /** Parity shard count. */
    readonly parityCount: number,
  ) {
    super(`Invalid Reed-Solomon parameters k=${dataCount}, m=${parityCount} (need 1 ≤ k, 1 ≤ m, k + m ≤ 255)`);
  }
}

/** Fewer than k shards are present, so the stripe cannot be reconstructed. */
export class NotEnoughShardsError extends BackpactError {
  readonly code = 'not-enough-shards';
  constructor(
    /** Shards present. */
    readonly present: number,
    /** Shards needed (k). */
    readonly needed: number,
  ) {
    super(`Only ${present} shards present; ${needed} are needed`);
  }
}

/** Shards of one stripe do not all have the same length. */
export class ShardLengthError extends BackpactError {
  readonly code = 'shard-length';
  constructor(message: string) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Packs and Merkle proofs
// ---------------------------------------------------------------------------------------------

/** A chunk id was looked up in a pack that does not contain it. */
export class ChunkNotInPackError extends BackpactError {
  readonly code = 'chunk-not-in-pack';
  constructor(
    /** The chunk id asked for. */
    readonly chunkId: string,
  ) {
    super(`Chunk ${chunkId} is not in this pack`);
  }
}

/** A Merkle leaf index is outside the tree. */
export class LeafIndexError extends BackpactError {
  readonly code = 'leaf-index';
  constructor(
    /** Index asked for. */
    readonly index: number,
    /** Number of leaves in the tree. */
    readonly leafCount: number,
  ) {
    super(`Leaf ${index} is outside a tree of ${leafCount} leaves`);
  }
}
