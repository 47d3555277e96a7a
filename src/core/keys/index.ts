/** Recovery phrase, key derivation, identity and safety codes. */
export * from './phrase.ts';
export * from './identity.ts';
export * from './derive.ts';
export * from './safety-code.ts';
