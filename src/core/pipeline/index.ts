/** The data pipeline: file bytes ⇄ chunks ⇄ packs ⇄ shards. */
export * from './encoder.ts';
export * from './decoder.ts';
