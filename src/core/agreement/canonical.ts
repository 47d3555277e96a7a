/**
 * Canonical JSON: object keys sorted, no whitespace, only integers, strings, booleans, null,
 * arrays and plain objects. Two parties that hold equal values produce identical bytes, which is
 * what both signatures of an agreement are over.
 */
import { InvalidArgumentError } from '../errors.ts';

/** A value that has one canonical encoding. */
export type CanonicalValue = null | boolean | number | string | CanonicalValue[] | { [key: string]: CanonicalValue };

/** Encodes `value` canonically. Throws {@link InvalidArgumentError} for non-integers or other types. */
export function canonicalJson(value: CanonicalValue): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new InvalidArgumentError(`canonical JSON takes safe integers only, got ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k]!)}`).join(',')}}`;
  }
  throw new InvalidArgumentError('canonical JSON takes plain objects, arrays and primitives only');
}
