/**
 * The FastCDC gear table: 256 pseudo-random 32-bit values, a fixed constant of the chunking format
 * (changing it moves every chunk boundary and defeats dedup against older snapshots).
 *
 * Generated at module load by SplitMix32 from {@link GEAR_SEED}:
 *   state += 0x9e3779b9; z = state;
 *   z = (z ^ (z >>> 16)) · 0x85ebca6b; z = (z ^ (z >>> 13)) · 0xc2b2ae35; z ^= z >>> 16
 * (all arithmetic mod 2^32). The golden test pins a digest of the table.
 */
import { GEAR_SEED } from '../constants.ts';

function buildGearTable(seed: number): Int32Array {
  const table = new Int32Array(256);
  let state = seed >>> 0;
  for (let i = 0; i < 256; i++) {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    table[i] = z;
  }
  return table;
}

/** The gear table (Int32Array so the hash loop stays in 32-bit integer arithmetic). */
export const GEAR: Int32Array = buildGearTable(GEAR_SEED);
