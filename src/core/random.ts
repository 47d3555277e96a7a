/** Randomness helpers shared by the core (WebCrypto's CSPRNG, present in Node and workers). */
import { InvalidArgumentError } from './errors.ts';

/** Uniform integer in [0, n) from WebCrypto, by rejection sampling (no modulo bias). */
export function cryptoRandomInt(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) throw new InvalidArgumentError('n must be an integer from 1 to 2^32');
  const limit = Math.floor(2 ** 32 / n) * n;
  const buf = new Uint32Array(1);
  for (;;) {
    globalThis.crypto.getRandomValues(buf);
    if (buf[0]! < limit) return buf[0]! % n;
  }
}
