/**
 * The local identity: derived from the recovery phrase, stored in IndexedDB. The Ed25519 private
 * key is kept as a non-extractable WebCrypto key where the browser allows (Chromium does), so page
 * script can sign with it but never read it back. The phrase itself is stored only if the person
 * asked. The symmetric keys (data, index, dedup, shard-name, root-record) are stored as bytes: the
 * backup workers need them, and anyone who can read this origin's IndexedDB can already read the
 * files they protect on this device.
 */
import type { IDBPDatabase } from 'idb';
import {
  generatePhrase, importIdentitySigningKey, keysFromPhrase, safetyCode, taggedSigningInput,
  validatePhrase, type RecoveryPhrase, type UserKeys,
} from '../core/keys/index.ts';
import type { PeerId } from '../core/ids.ts';
import type { BackpactDB } from '../store/db.ts';
import type { IdentityPort, IdentitySummary } from '../ui/state/identity.svelte.ts';
import { rawSigner } from './identity-signer.ts';

const KV_KEY = 'identity';

/** What is stored under `kv/identity`. */
interface StoredIdentity {
  v: 1;
  name: string;
  publicKey: Uint8Array;
  peerId: PeerId;
  /** Non-extractable signing key, or null where WebCrypto lacks Ed25519. */
  signingKey: CryptoKey | null;
  /** Only where `signingKey` is null. */
  privateKey: Uint8Array | null;
  dataKey: Uint8Array;
  indexKey: Uint8Array;
  dedupKey: Uint8Array;
  shardNameKey: Uint8Array;
  rootRecordKey: Uint8Array;
  /** Only when the person asked to keep it on this device. */
  phrase: string | null;
}

/** The unlocked identity other services use: who we are, how to sign, the symmetric keys. */
export interface LocalIdentity {
  readonly peerId: PeerId;
  readonly publicKey: Uint8Array;
  readonly name: string;
  /** Signs `utf8(tag) ‖ 0x00 ‖ message` (see core `signTagged`). */
  signTagged(tag: string, message: Uint8Array): Promise<Uint8Array>;
  /**
   * Signs `message` as is. Only for protocols whose transcript already starts with its own
   * domain-separation label (the signaling auth and link binding transcripts do).
   */
  signRaw(message: Uint8Array): Promise<Uint8Array>;
  readonly keys: Omit<UserKeys, 'identity'>;
}

function toLocal(s: StoredIdentity): LocalIdentity {
  const signRaw = rawSigner(s);
  return {
    signRaw,
    peerId: s.peerId,
    publicKey: s.publicKey,
    name: s.name,
    signTagged: (tag, message) => signRaw(taggedSigningInput(tag, message)),
    keys: { dataKey: s.dataKey, indexKey: s.indexKey, dedupKey: s.dedupKey, shardNameKey: s.shardNameKey, rootRecordKey: s.rootRecordKey },
  };
}

function summary(s: StoredIdentity): IdentitySummary {
  return { peerId: s.peerId, name: s.name, safetyCode: safetyCode(s.publicKey), phraseStored: s.phrase !== null };
}

/** Identity storage and life cycle over IndexedDB. */
export class IdentityService implements IdentityPort {
  #local: LocalIdentity | null = null;
  readonly #listeners = new Set<(id: LocalIdentity) => void>();

  constructor(private readonly db: IDBPDatabase<BackpactDB>) {}

  /** The unlocked identity, or null before one exists. */
  get local(): LocalIdentity | null {
    return this.#local;
  }

  /** Calls `fn` with the identity now (if any) and whenever one is created or restored. */
  onReady(fn: (id: LocalIdentity) => void): void {
    this.#listeners.add(fn);
    if (this.#local) fn(this.#local);
  }

  async #read(): Promise<StoredIdentity | null> {
    return ((await this.db.get('kv', KV_KEY)) as StoredIdentity | undefined) ?? null;
  }

  async load(): Promise<IdentitySummary | null> {
    const s = await this.#read();
    if (!s) return null;
    this.#local = toLocal(s);
    for (const fn of this.#listeners) fn(this.#local);
    return summary(s);
  }

  newPhrase(): string[] {
    return generatePhrase().split(' ');
  }

  async create(phrase: string[], name: string, keepPhrase: boolean): Promise<IdentitySummary> {
    return this.#store(validatePhrase(phrase.join(' ')), name, keepPhrase);
  }

  async restore(phraseText: string, name: string, keepPhrase: boolean): Promise<IdentitySummary> {
    return this.#store(validatePhrase(phraseText), name, keepPhrase);
  }

  async #store(phrase: RecoveryPhrase, name: string, keepPhrase: boolean): Promise<IdentitySummary> {
    const keys = await keysFromPhrase(phrase);
    const signingKey = await importIdentitySigningKey(keys.identity);
    const stored: StoredIdentity = {
      v: 1,
      name,
      publicKey: keys.identity.publicKey,
      peerId: keys.identity.peerId,
      signingKey,
      privateKey: signingKey ? null : keys.identity.privateKey,
      dataKey: keys.dataKey,
      indexKey: keys.indexKey,
      dedupKey: keys.dedupKey,
      shardNameKey: keys.shardNameKey,
      rootRecordKey: keys.rootRecordKey,
      phrase: keepPhrase ? phrase : null,
    };
    await this.db.put('kv', stored, KV_KEY);
    this.#local = toLocal(stored);
    for (const fn of this.#listeners) fn(this.#local);
    return summary(stored);
  }

  async revealPhrase(): Promise<string[] | null> {
    const s = await this.#read();
    return s?.phrase ? s.phrase.split(' ') : null;
  }

  async rename(name: string): Promise<IdentitySummary> {
    const s = await this.#read();
    if (!s) throw new Error('There is no identity on this device yet.');
    const next = { ...s, name };
    await this.db.put('kv', next, KV_KEY);
    this.#local = toLocal(next);
    return summary(next);
  }
}
