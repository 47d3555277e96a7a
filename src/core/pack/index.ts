/** Packs of encrypted chunks, and their coding into named shards. */
export * from './pack.ts';
export * from './shards.ts';
export * from './buffers.ts';
