/** Audits: what to ask, how answers are checked, and what they mean for a partner's health. */
export * from './answer.ts';
export * from './health.ts';
export * from './sampler.ts';
export * from './schedule.ts';
export * from './relay.ts';
export * from './warnings.ts';
export * from './damage.ts';
