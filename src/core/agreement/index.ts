/** Agreements between partners: terms, quantization, signatures. See docs/DESIGN.md §6. */
export * from './canonical.ts';
export * from './signed.ts';
export * from './terms.ts';
