/**
 * Every tunable of the core engine, with the reason for its value. Values marked FORMAT are part
 * of the stored formats (docs/DESIGN.md §4): changing one makes existing backups unreadable unless
 * a new format version is introduced alongside.
 */

const KiB = 1024;
const MiB = 1024 * KiB;

// ---------------------------------------------------------------------------------------------
// Recovery phrase and keys
// ---------------------------------------------------------------------------------------------

/** Words in a recovery phrase: 24 BIP39 words carry 256 bits of entropy (brief §2). */
export const PHRASE_WORDS = 24;

/** Entropy of a new phrase. 256 bits: the seed is the root of every key, so no margin is too much. */
export const PHRASE_ENTROPY_BITS = 256;

/**
 * HKDF-SHA256 salt used when extracting from the BIP39 seed (FORMAT). A fixed, application-specific
 * salt domain-separates Backpact's keys from any other use of the same phrase (e.g. a wallet).
 */
export const HKDF_SALT = 'backpact/v1/hkdf-salt';

/**
 * HKDF `info` labels, one per key purpose (FORMAT). Never one key for two purposes (brief §2).
 * All keys are 32 bytes.
 */
export const KEY_LABELS = {
  /** Ed25519 private key (RFC 8032 32-byte seed) of the user's identity. */
  identity: 'backpact/v1/identity',
  /** Root of the per-chunk AES-256-GCM keys. */
  data: 'backpact/v1/data',
  /** AES-256-GCM key of snapshot manifests. */
  index: 'backpact/v1/index',
  /** HMAC-SHA256 key of chunk ids (dedup within one user, never plaintext hashes). */
  dedup: 'backpact/v1/dedup',
  /** HMAC-SHA256 key naming shards, so holders cannot link shards of one pack. */
  shardName: 'backpact/v1/shard-name',
  /** AES-256-GCM key of the root record. */
  rootRecord: 'backpact/v1/root-record',
} as const;

/**
 * Labels of keys derived from the data key rather than the seed (FORMAT): HKDF-SHA256 with the
 * data key as input key material and no salt.
 */
export const DATA_SUBKEY_LABELS = {
  /** Per-chunk key: info = this label ‖ the 32-byte chunk id. */
  chunk: 'backpact/v1/chunk-key',
  /** AES-256-GCM key of pack headers. */
  packHeader: 'backpact/v1/pack-header',
} as const;

/** Length of every derived symmetric key and of the Ed25519 private key. */
export const KEY_BYTES = 32;

// ---------------------------------------------------------------------------------------------
// Ids and safety codes
// ---------------------------------------------------------------------------------------------

/**
 * Bytes of SHA-256 kept in a PeerId (FORMAT). 160 bits: a collision needs ~2^80 work, far beyond
 * what an attacker can spend to impersonate a user, and the id stays 32 base32 characters.
 */
export const PEER_ID_BYTES = 20;

/**
 * Digits of a safety code. 12 digits (~40 bits) are quick to read aloud in three groups of four;
 * the code confirms a key that already came through the invite link (docs/DESIGN.md §4, threat
 * model), it is not the only defence.
 */
export const SAFETY_CODE_DIGITS = 12;

/** Digits per group when a safety code is displayed. */
export const SAFETY_CODE_GROUP = 4;

// ---------------------------------------------------------------------------------------------
// Content-defined chunking (FastCDC)
// ---------------------------------------------------------------------------------------------

/** Smallest chunk (except a file's last): 256 KiB bounds per-chunk overhead (brief §6). FORMAT for dedup. */
export const CHUNK_MIN_BYTES = 256 * KiB;

/** Target average chunk size: 1 MiB balances dedup granularity against index size (brief §6). */
export const CHUNK_AVG_BYTES = 1 * MiB;

/** Largest chunk: 4 MiB bounds the chunker's memory and a pack's minimum useful size (brief §6). */
export const CHUNK_MAX_BYTES = 4 * MiB;

/**
 * FastCDC normalisation level: the strict mask has this many more bits than log2(avg), the loose
 * mask this many fewer. Level 2 is the paper's recommendation (chunk sizes cluster near the
 * average without hurting dedup). FORMAT for dedup.
 */
export const CHUNK_NORMALIZATION = 2;

/** Seed of the PRNG that fills the 256-entry gear table at load time (FORMAT for dedup). */
export const GEAR_SEED = 0x6261636b; // "back"

// ---------------------------------------------------------------------------------------------
// Encryption
// ---------------------------------------------------------------------------------------------

/** Version byte of the chunk envelope (FORMAT). */
export const ENVELOPE_VERSION = 1;

/** AES-GCM nonce length: 96 bits is the length GCM is specified for. */
export const NONCE_BYTES = 12;

/** AES-GCM tag length: the full 128 bits. */
export const TAG_BYTES = 16;

// ---------------------------------------------------------------------------------------------
// Packs, shards, Merkle trees
// ---------------------------------------------------------------------------------------------

/**
 * A pack is closed before a chunk would make it exceed this. 8 MiB with chunks of at most 4 MiB
 * gives packs of 4–8 MiB (inside the brief's 4–16 MiB): big enough that per-pack costs (header,
 * shard names, Merkle roots, placement) stay small, small enough that a restore can make progress
 * pack by pack from whichever partners are online.
 */
export const PACK_TARGET_BYTES = 8 * MiB;

/**
 * Version byte of the packs written now (FORMAT). Version 2 has the layout of version 1 and a
 * cheaper pack id (a hash of the pack's tail, see `pack/pack.ts`); readers accept both.
 */
export const PACK_VERSION = 2;

/** Pack versions readers accept (FORMAT): 1 (id = hash of the whole pack) and 2. */
export const PACK_VERSIONS_READ: readonly number[] = [1, 2];

/** Bytes of a Merkle leaf: 1 KiB keeps an audit answer (leaf + path) well under one 16 KiB message. */
export const MERKLE_LEAF_BYTES = 1 * KiB;

/**
 * Shard lengths are rounded up to a multiple of this (FORMAT): every shard then starts 4-byte
 * aligned inside the padded pack buffer (the erasure kernel reads 32-bit words), at a cost of
 * under 64 bytes per shard.
 */
export const SHARD_ALIGN_BYTES = 64;

// ---------------------------------------------------------------------------------------------
// Reed-Solomon kernel
// ---------------------------------------------------------------------------------------------

/**
 * Bytes per packet of a full bit-sliced super-block (8 packets) (FORMAT: it fixes which bits form
 * a symbol). 1 KiB keeps one super-block of every shard of a 10+4 stripe (112 KiB) in L2 while each
 * XOR loop runs 256 words, so per-op overhead is small; 512 B–2 KiB measured within noise.
 */
export const RS_PACKET_BYTES = 1024;

/** Compiled XOR programs kept (LRU): a program is a few KiB; compiling one takes up to ~10 ms. */
export const RS_PROGRAM_CACHE_SIZE = 256;

/**
 * Compile-time budgets of the XOR-program compiler, in (targets² × slots) or (unknowns² × slots)
 * units. Common codes (k + m ≤ ~30) stay under them and get the full search, which makes
 * reconstruction as cheap as encoding; wider codes fall back to strategies that compile in
 * milliseconds instead of seconds.
 */
export const RS_COMPILE_BUDGETS = {
  /** Greedy scheduling with reuse of every computed packet. */
  greedy: 4_000_000,
  /** Plank's "smart scheduling" (reuse of one earlier packet). */
  inOrder: 64_000_000,
  /** Searching strategies and parity-shard choices for a reconstruction. */
  search: 4_000_000,
  /** Total work across the parity-shard choices tried. */
  subsetSearch: 32_000_000,
  /** Parity-shard choices tried at most. */
  maxSubsets: 32,
} as const;

// ---------------------------------------------------------------------------------------------
// Manifests and root records
// ---------------------------------------------------------------------------------------------

/** Version byte of the snapshot manifest encoding (FORMAT). */
export const MANIFEST_VERSION = 1;

/** Version byte of the root record encoding (FORMAT). */
export const ROOT_RECORD_VERSION = 1;

/**
 * Largest decrypted manifest or root record accepted (64 MiB), so a hostile or corrupt length
 * field cannot make a decoder allocate without bound.
 */
export const MAX_RECORD_BYTES = 64 * MiB;
