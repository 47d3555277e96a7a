/** Repair: planning which shards to rebuild and where, and rebuilding them. */
export * from './plan.ts';
export * from './rebuild.ts';
