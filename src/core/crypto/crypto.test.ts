import { readFileSync } from 'node:fs';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from '../encoding/bytes.ts';
import { IntegrityError, InvalidArgumentError, MalformedError, UnsupportedVersionError } from '../errors.ts';
import type { ChunkId } from '../ids.ts';
import { ChunkCipher } from './chunk.ts';
import { ENVELOPE_OVERHEAD, importAesKey, open, seal, sealInto } from './envelope.ts';
import { taggedHash } from './hash.ts';

const KEY = fromHex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
const NONCE = fromHex('a0a1a2a3a4a5a6a7a8a9aaab');
const golden = JSON.parse(readFileSync(new URL('./__fixtures__/envelopes.json', import.meta.url), 'utf8')) as Record<string, string>;

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('envelope', () => {
  it('round-trips and has the documented layout', async () => {
    const plaintext = utf8('hello, partner');
    const env = await seal(KEY, 'backpact/v1/chunk', plaintext, { nonce: NONCE });
    expect(env.length).toBe(plaintext.length + ENVELOPE_OVERHEAD);
    expect(env[0]).toBe(1);
    expect(toHex(env.subarray(1, 13))).toBe(toHex(NONCE));
    expect(toHex(await open(KEY, 'backpact/v1/chunk', env))).toBe(toHex(plaintext));
    expect(toHex(env)).toBe(golden.envelope);
  });

  it('seals in place (sealInto) to the same bytes, from a view that may change once the call returns', async () => {
    const key = await importAesKey(KEY);
    const backing = utf8('..hello, partner..');
    const plaintext = backing.subarray(2, 16);
    const expected = await seal(KEY, 'backpact/v1/chunk', plaintext, { nonce: NONCE });
    const out = new Uint8Array(5 + expected.length + 3).fill(0xaa);
    const done = sealInto(key, 'backpact/v1/chunk', plaintext, out, 5, { nonce: NONCE });
    backing.fill(0); // WebCrypto copied the plaintext during the call
    await done;
    expect(toHex(out.subarray(5, 5 + expected.length))).toBe(toHex(expected));
    expect([...out.subarray(0, 5), ...out.subarray(5 + expected.length)]).toEqual(new Array(8).fill(0xaa));
    expect(await rejection(sealInto(key, 'backpact/v1/chunk', plaintext, out, out.length - expected.length + 1))).toBeInstanceOf(InvalidArgumentError);
    expect(await rejection(sealInto(key, 'backpact/v1/chunk', plaintext, out, 0, { nonce: new Uint8Array(8) }))).toBeInstanceOf(InvalidArgumentError);
  });

  it('uses a fresh random nonce by default', async () => {
    const a = await seal(KEY, 'backpact/v1/chunk', new Uint8Array(8));
    const b = await seal(KEY, 'backpact/v1/chunk', new Uint8Array(8));
    expect(toHex(a.subarray(1, 13))).not.toBe(toHex(b.subarray(1, 13)));
  });

  it('rejects every single flipped bit, at every position, with an IntegrityError', async () => {
    const env = await seal(KEY, 'backpact/v1/manifest', utf8('a small manifest, forty bytes or so....'), { nonce: NONCE });
    let checked = 0;
    for (let pos = 0; pos < env.length; pos++) {
      for (let bit = 0; bit < 8; bit++) {
        const bad = env.slice();
        bad[pos]! ^= 1 << bit;
        const err = await rejection(open(KEY, 'backpact/v1/manifest', bad));
        expect(err, `byte ${pos} bit ${bit}`).toBeInstanceOf(IntegrityError);
        if (pos === 0) expect(err).toBeInstanceOf(UnsupportedVersionError);
        checked++;
      }
    }
    expect(checked).toBe(env.length * 8);
  });

  it('rejects an unknown version with a typed error naming it', async () => {
    const env = await seal(KEY, 'backpact/v1/chunk', new Uint8Array(4), { nonce: NONCE });
    env[0] = 2;
    const err = await rejection(open(KEY, 'backpact/v1/chunk', env));
    expect(err).toBeInstanceOf(UnsupportedVersionError);
    expect(err).toMatchObject({ version: 2, format: 'envelope', code: 'unsupported-version' });
  });

  it('rejects truncation, the wrong key and the wrong purpose', async () => {
    const env = await seal(KEY, 'backpact/v1/chunk', utf8('data'), { nonce: NONCE });
    expect(await rejection(open(KEY, 'backpact/v1/chunk', env.subarray(0, 20)))).toBeInstanceOf(MalformedError);
    expect(await rejection(open(KEY, 'backpact/v1/chunk', new Uint8Array(0)))).toBeInstanceOf(MalformedError);
    expect(await rejection(open(KEY, 'backpact/v1/chunk', env.subarray(0, env.length - 1)))).toBeInstanceOf(IntegrityError);
    expect(await rejection(open(new Uint8Array(32), 'backpact/v1/chunk', env))).toBeInstanceOf(IntegrityError);
    expect(await rejection(open(KEY, 'backpact/v1/manifest', env))).toBeInstanceOf(IntegrityError);
  });
});

describe('chunks', () => {
  const keys = { dataKey: fromHex('11'.repeat(32)), dedupKey: fromHex('22'.repeat(32)) };

  it('chunk id is HMAC-SHA256(dedup key, plaintext)', async () => {
    const cipher = await ChunkCipher.create(keys);
    const plaintext = utf8('some file content');
    expect(await cipher.id(plaintext)).toBe(toHex(hmac(sha256, keys.dedupKey, plaintext)));
    expect(await cipher.id(plaintext)).not.toBe(toHex(sha256(plaintext)));
  });

  it('seals deterministically with a fixed nonce (golden) and opens with verification', async () => {
    const cipher = await ChunkCipher.create(keys);
    const plaintext = utf8('golden chunk plaintext');
    const sealed = await cipher.seal(plaintext, { nonce: NONCE });
    expect(sealed.plaintextLength).toBe(plaintext.length);
    expect({ id: sealed.id, envelope: toHex(sealed.envelope) }).toEqual({ id: golden.chunkId, envelope: golden.chunkEnvelope });
    expect(toHex(await cipher.open(sealed.id, sealed.envelope))).toBe(toHex(plaintext));
  });

  it('same plaintext gives the same id; different plaintexts and users different ids', async () => {
    const a = await ChunkCipher.create(keys);
    const b = await ChunkCipher.create({ ...keys, dedupKey: fromHex('33'.repeat(32)) });
    const p = new Uint8Array(1000).fill(7);
    expect((await a.seal(p)).id).toBe((await a.seal(p)).id);
    expect(await a.id(p)).not.toBe(await a.id(p.subarray(1)));
    expect(await a.id(p)).not.toBe(await b.id(p));
  });

  it('rejects a chunk opened under another id, or tampered', async () => {
    const cipher = await ChunkCipher.create(keys);
    const one = await cipher.seal(utf8('one'));
    const two = await cipher.seal(utf8('two'));
    expect(await rejection(cipher.open(two.id, one.envelope))).toBeInstanceOf(IntegrityError);
    const bad = one.envelope.slice();
    bad[bad.length - 1]! ^= 0x80;
    expect(await rejection(cipher.open(one.id, bad))).toBeInstanceOf(IntegrityError);
    expect(await rejection(cipher.open('00'.repeat(32) as ChunkId, one.envelope))).toBeInstanceOf(IntegrityError);
  });
});

describe('tagged hash', () => {
  it('is SHA-256(tag ‖ 0x00 ‖ data)', () => {
    expect(toHex(taggedHash('t', utf8('x')))).toBe(toHex(sha256(new Uint8Array([0x74, 0, 0x78]))));
    expect(toHex(taggedHash('a', utf8('bc')))).not.toBe(toHex(taggedHash('ab', utf8('c'))));
  });
});
