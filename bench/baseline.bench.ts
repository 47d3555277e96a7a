/**
 * Baselines that every other benchmark is compared with in the same run: `memcpy` (memory
 * bandwidth) and `xor-loop` (an unrolled 32-bit XOR over typed arrays), MB/s on one core.
 */
import { emit, memcpyBaseline, xorBaseline } from './lib.ts';

emit({ bench: 'memcpy', value: Math.round(await memcpyBaseline()), unit: 'MB/s' });
emit({ bench: 'xor-loop', value: Math.round(await xorBaseline()), unit: 'MB/s' });
