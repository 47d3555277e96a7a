/**
 * Hash-based navigation between the app's screens (`#/dashboard`, `#/partners`, ...). A hash keeps
 * routing working from any static host and offline; other fragments (such as an invite link's
 * `#invite=...`) are left to their own handlers.
 */

/** Every screen the app has. */
export const SCREENS = ['welcome', 'dashboard', 'partners', 'backup', 'restore', 'settings'] as const;

/** A screen name. */
export type Screen = (typeof SCREENS)[number];

function isScreen(s: string): s is Screen {
  return (SCREENS as readonly string[]).includes(s);
}

/** Parses `#/name` into a screen; undefined for anything else. */
export function screenFromHash(hash: string): Screen | undefined {
  const m = /^#\/([a-z]+)$/.exec(hash);
  return m && isScreen(m[1]!) ? m[1] : undefined;
}

/** The current screen, kept in sync with `location.hash`. */
export class Router {
  current = $state<Screen>('welcome');

  constructor(private readonly fallback: Screen = 'welcome') {
    this.current = screenFromHash(location.hash) ?? fallback;
    addEventListener('hashchange', () => {
      const s = screenFromHash(location.hash);
      if (s) this.current = s;
    });
  }

  /** Shows `screen` and records it in history so Back works. */
  go(screen: Screen): void {
    this.current = screen;
    const hash = `#/${screen}`;
    if (location.hash !== hash) location.hash = hash;
  }
}
