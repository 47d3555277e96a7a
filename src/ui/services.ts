/**
 * The services the composition root (`src/main.ts`) hands to the UI through Svelte context.
 * Components read them with {@link getServices}; they never construct adapters themselves.
 */
import { getContext, setContext } from 'svelte';
import type { Runtime } from '../app/runtime.svelte.ts';
import type { IdentityState } from './state/identity.svelte.ts';
import type { PwaState } from './state/pwa.svelte.ts';
import type { Router } from './state/router.svelte.ts';

/** Everything the UI may use. Grows as features land. */
export interface Services {
  router: Router;
  pwa: PwaState;
  identity: IdentityState;
  runtime: Runtime;
}

const KEY = Symbol('backpact-services');

/** Builds the context map passed to `mount`. */
export function servicesContext(services: Services): Map<symbol, Services> {
  return new Map([[KEY, services]]);
}

/** The services, from inside a component. */
export function getServices(): Services {
  const s = getContext<Services | undefined>(KEY);
  if (!s) throw new Error('Backpact services are missing: mount the app through src/main.ts');
  return s;
}

/** For tests that mount a component alone. */
export function provideServices(services: Services): void {
  setContext(KEY, services);
}
