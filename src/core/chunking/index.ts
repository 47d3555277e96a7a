/** Content-defined chunking (FastCDC). */
export { Chunker, chunkAll, type ChunkerOptions } from './fastcdc.ts';
export { GEAR } from './gear.ts';
