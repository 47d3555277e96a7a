import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base64UrlLength, bytesEqual, fromBase64Url, isBase64UrlOfLength, isBase64UrlShape, toBase64Url, utf8Decode } from './encoding.ts';

describe('base64url', () => {
  it('matches RFC 4648 test vectors (unpadded, url alphabet)', () => {
    const vectors: [string, string][] = [['', ''], ['f', 'Zg'], ['fo', 'Zm8'], ['foo', 'Zm9v'], ['foob', 'Zm9vYg'], ['fooba', 'Zm9vYmE'], ['foobar', 'Zm9vYmFy']];
    for (const [plain, enc] of vectors) {
      expect(toBase64Url(new TextEncoder().encode(plain))).toBe(enc);
      expect(new TextDecoder().decode(fromBase64Url(enc)!)).toBe(plain);
    }
    expect(toBase64Url(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
  });

  it('round-trips any bytes and agrees with Node', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      const s = toBase64Url(b);
      expect(s).toBe(Buffer.from(b).toString('base64url'));
      expect(s.length).toBe(base64UrlLength(b.length));
      expect(fromBase64Url(s)).toEqual(b);
    }));
  });

  it('refuses non-canonical spellings so one key has exactly one id', () => {
    expect(fromBase64Url('Zg==')).toBeNull(); // padding
    expect(fromBase64Url('Zh')).toBeNull(); // unused bits set ("Zg" is canonical)
    expect(fromBase64Url('Zm9')).toBeNull(); // unused bits set ("Zm8" is canonical)
    expect(fromBase64Url('Z')).toBeNull(); // impossible length
    expect(fromBase64Url('+/8')).toBeNull(); // standard alphabet
    expect(fromBase64Url('Zm 9v')).toBeNull();
    expect(fromBase64Url('Zm9\u00e9')).toBeNull();
    fc.assert(fc.property(fc.string({ maxLength: 50 }), (s) => {
      const b = fromBase64Url(s);
      if (b) expect(toBase64Url(b)).toBe(s);
    }));
  });

  it('checks a canonical length-n spelling exactly as decoding would (property)', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=';
    for (const n of [16, 32, 64]) {
      const len = base64UrlLength(n);
      fc.assert(fc.property(fc.array(fc.constantFrom(...alphabet), { minLength: len, maxLength: len }), (chars) => {
        const s = chars.join('');
        expect(isBase64UrlOfLength(s, n)).toBe(fromBase64Url(s)?.length === n);
      }), { numRuns: 2000 });
      fc.assert(fc.property(fc.uint8Array({ minLength: n, maxLength: n }), (b) => {
        expect(isBase64UrlOfLength(toBase64Url(b), n)).toBe(true);
      }), { numRuns: 500 });
    }
  });

  it('checks shapes without decoding', () => {
    const key = toBase64Url(new Uint8Array(32).fill(9));
    expect(isBase64UrlOfLength(key, 32)).toBe(true);
    expect(isBase64UrlOfLength(key, 31)).toBe(false);
    expect(isBase64UrlOfLength(42, 32)).toBe(false);
    expect(isBase64UrlShape('', 0)).toBe(true);
    expect(isBase64UrlShape('abc', 2)).toBe(true);
    expect(isBase64UrlShape('abcd', 2)).toBe(false);
    expect(isBase64UrlShape('a', 10)).toBe(false);
    expect(isBase64UrlShape('a=', 10)).toBe(false);
  });
});

describe('utf8 and bytes', () => {
  it('decodes strictly', () => {
    expect(utf8Decode(new Uint8Array([0xc3, 0xa9]))).toBe('é');
    expect(utf8Decode(new Uint8Array([0xc3, 0x28]))).toBeNull();
  });

  it('compares bytes', () => {
    expect(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(bytesEqual(new Uint8Array([1]), new Uint8Array([1, 0]))).toBe(false);
  });
});
