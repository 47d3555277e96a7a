/** Snapshot manifests, pack placement and the signed root record. */
export * from './placement.ts';
export * from './snapshot.ts';
export * from './root-record.ts';
