import { describe, expect, it } from 'vitest';
import { fromHex } from '../encoding/bytes.ts';
import { SignatureError } from '../errors.ts';
import { identityFromPrivateKey, signTagged } from '../keys/identity.ts';
import { openRootRecord, sealRootRecord } from '../manifest/root-record.ts';
import { sealRootRecordWith } from './root-record.ts';

const OWNER = identityFromPrivateKey(fromHex('88'.repeat(32)));
const OTHER = identityFromPrivateKey(fromHex('99'.repeat(32)));
const KEY = fromHex('77'.repeat(32));
const NONCE = fromHex('0102030405060708090a0b0c');

describe('root record sealed through a signer', () => {
  it('gives the same bytes as sealRootRecord and opens with the root-record key', async () => {
    const body = { snapshots: [], partners: [{ publicKey: OTHER.publicKey, label: 'Bo' }] };
    const opts = { nonce: NONCE, createdAt: 1_764_000_000_000 };
    const viaSigner = await sealRootRecordWith(async (tag, m) => signTagged(OWNER.privateKey, tag, m), OWNER.publicKey, KEY, 7, body, opts);
    expect(viaSigner).toEqual(await sealRootRecord(OWNER, KEY, 7, body, opts));
    const opened = await openRootRecord(viaSigner, KEY, { expectedOwner: OWNER.publicKey });
    expect(opened.seq).toBe(7);
    expect(opened.body.partners[0]!.label).toBe('Bo');
  });

  it('refuses a signer holding another key', async () => {
    await expect(sealRootRecordWith(async (tag, m) => signTagged(OTHER.privateKey, tag, m), OWNER.publicKey, KEY, 1, { snapshots: [], partners: [] }))
      .rejects.toThrow(SignatureError);
  });
});
