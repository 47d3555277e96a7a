/** Envelopes, chunk encryption and ids, and hashing primitives. */
export * from './envelope.ts';
export * from './chunk.ts';
export * from './hash.ts';
export { Sha256, sha256Compress, sha256Digest, SHA256_IV } from './sha256.ts';
