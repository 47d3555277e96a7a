import { defineConfig } from '@playwright/test';
import { chromiumLaunchOptions } from './e2e/browser.ts';

/**
 * End-to-end tests: real Chromium pages as peers against the real server (started by the
 * `server` fixture in e2e/fixtures.ts). Run through `npm run test:e2e`, which finds Chromium,
 * builds the app and enters a private network namespace first.
 */
export default defineConfig({
  testDir: 'e2e',
  testMatch: '**/*.spec.ts',
  timeout: 120_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  // Each test may open several browser contexts, and WebRTC peers share the 2 cores.
  workers: 1,
  retries: 0,
  forbidOnly: true,
  reporter: [['list']],
  outputDir: '.tmp/test-results',
  use: {
    browserName: 'chromium',
    launchOptions: chromiumLaunchOptions(),
    trace: 'retain-on-failure',
    actionTimeout: 15_000,
  },
});
