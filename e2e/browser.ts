/**
 * How tests and benchmarks launch Chromium on these machines (see ENVIRONMENT.md): the binary
 * found by scripts/chromium.mjs (passed as CHROMIUM_PATH) and flags that work headless as root
 * and keep Chromium from reaching for the internet.
 */
import type { LaunchOptions } from '@playwright/test';

/** Chromium flags: headless as root, no GPU, no background traffic. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launch options for Playwright's `chromium.launch`. */
export function chromiumLaunchOptions(): LaunchOptions {
  return {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
  };
}

/**
 * Options for a new browser context acting as one device. Granting camera and microphone makes
 * Chromium expose real host ICE candidates instead of mDNS names, which need multicast.
 */
export function deviceContextOptions(): { permissions: string[] } {
  return { permissions: ['camera', 'microphone'] };
}
