/**
 * Smoke tests of the foundation: the app shell renders and navigates (mouse, keyboard, phone),
 * the service worker activates and serves the shell offline, Chromium finds the app installable,
 * the install and update prompts appear when they should, and the server answers /healthz.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from '@playwright/test';
import { chromiumLaunchOptions } from './browser.ts';
import { expect, test } from './fixtures.ts';
import { createIdentity } from './helpers/onboarding.ts';
import { startServerProcess } from './server.ts';

/** Resolves once a service worker controls `page` (the first version claims open pages). */
async function waitForController(page: Page): Promise<void> {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (navigator.serviceWorker.controller) return;
    await new Promise<void>((r) => navigator.serviceWorker.addEventListener('controllerchange', () => r(), { once: true }));
  });
}

test('the app renders and every screen is reachable by mouse and keyboard', async ({ openPeers }) => {
  const [{ page }] = await openPeers(1);
  await expect(page.getByRole('heading', { level: 1, name: 'Back up with friends' })).toBeVisible();
  // Before an identity exists there is nothing to navigate to.
  await expect(page.getByRole('navigation', { name: 'Main' })).toHaveCount(0);
  await createIdentity(page, 'Smoke');
  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const [link, heading] of [['Partners', 'Partners'], ['Back up', 'Back up'], ['Restore', 'Restore'], ['Settings', 'Settings'], ['Home', 'Home']] as const) {
    await nav.getByRole('link', { name: link }).click();
    await expect(page.getByRole('heading', { level: 1, name: heading })).toBeVisible();
    await expect(nav.getByRole('link', { name: link })).toHaveAttribute('aria-current', 'page');
  }
  await expect(page).toHaveTitle('Home · Backpact');

  // Keyboard only: focus the Partners link and press Enter; focus lands on the new heading.
  await nav.getByRole('link', { name: 'Partners' }).focus();
  await page.keyboard.press('Enter');
  const heading = page.getByRole('heading', { level: 1, name: 'Partners' });
  await expect(heading).toBeFocused();
  // Back goes to the previous screen.
  await page.goBack();
  await expect(page.getByRole('heading', { level: 1, name: 'Home' })).toBeVisible();
});

test('on a phone-sized screen the navigation is a bottom bar that works', async ({ openPeers }) => {
  const [{ page }] = await openPeers(1, { viewport: { width: 375, height: 667 } });
  await createIdentity(page, 'Phone');
  const nav = page.getByRole('navigation', { name: 'Main' });
  const box = await nav.boundingBox();
  expect(box).not.toBeNull();
  expect(box!.y + box!.height).toBeGreaterThanOrEqual(660);
  expect(box!.width).toBeGreaterThanOrEqual(370);
  await nav.getByRole('link', { name: 'Restore' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Restore' })).toBeInViewport();
  // Nothing overflows sideways.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
});

test('the service worker activates and the shell reloads offline', async ({ openPeers }) => {
  const [{ page, context }] = await openPeers(1);
  await waitForController(page);
  const state = await page.evaluate(async () => (await navigator.serviceWorker.ready).active?.state);
  expect(state).toBe('activated');

  await createIdentity(page, 'Offline');

  await context.setOffline(true);
  expect(await page.evaluate(() => fetch('/healthz').then(() => 'online', () => 'offline'))).toBe('offline');
  await page.reload();
  await expect(page.getByRole('heading', { level: 1, name: 'Home' })).toBeVisible();
  // An app route that was never visited also comes from the cached shell.
  await page.goto(page.url().replace(/#.*$/, '') + '#/settings');
  await expect(page.getByRole('heading', { level: 1, name: 'Settings' })).toBeVisible();
  await context.setOffline(false);
});

test('Chromium reports no installability errors', async ({ playwright, server }) => {
  // Installability is never reported in an incognito-like context: use a real profile on disk.
  const profile = await mkdtemp(join(tmpdir(), 'backpact-profile-'));
  const context = await playwright.chromium.launchPersistentContext(profile, chromiumLaunchOptions());
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(server.url);
  await waitForController(page);
  const cdp = await context.newCDPSession(page);
  const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as {
    installabilityErrors: { errorId: string }[];
  };
  expect(installabilityErrors).toEqual([]);
  const manifest = await page.evaluate(async () => (await fetch('/manifest.webmanifest')).json());
  expect(manifest).toMatchObject({ short_name: 'Backpact', display: 'standalone', start_url: '/' });
  const sizes = (manifest.icons as { sizes: string; purpose: string }[]).map((i) => `${i.sizes}:${i.purpose}`);
  expect(sizes).toEqual(expect.arrayContaining(['192x192:any', '512x512:any', '512x512:maskable']));
  await context.close();
  await rm(profile, { recursive: true, force: true });
});

test('an Install button appears when the browser offers installation, and opens its prompt', async ({ openPeers }) => {
  const [{ page }] = await openPeers(1);
  const install = page.getByRole('button', { name: 'Install app' });
  await expect(install).toHaveCount(0);
  await page.evaluate(() => {
    const e = new Event('beforeinstallprompt', { cancelable: true }) as Event & Record<string, unknown>;
    e.prompt = async () => { (globalThis as Record<string, unknown>).promptShown = true; };
    e.userChoice = Promise.resolve({ outcome: 'accepted' });
    dispatchEvent(e);
  });
  await install.click();
  expect(await page.evaluate(() => (globalThis as Record<string, unknown>).promptShown)).toBe(true);
  await expect(install).toHaveCount(0);
});

test('a waiting new version shows "update available", and updating switches to it', async ({ browser }) => {
  // A server of its own, over a copy of the build that the test can change like a deployment would.
  const dir = await mkdtemp(join(tmpdir(), 'backpact-update-'));
  await cp(resolve(import.meta.dirname, '../dist'), dir, { recursive: true });
  const server = await startServerProcess({ STATIC_DIR: dir });
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(server.info.url);
    await waitForController(page);
    await expect(page.getByRole('status').filter({ hasText: 'new version' })).toHaveCount(0);

    const swPath = join(dir, 'sw.js');
    await writeFile(swPath, `${await readFile(swPath, 'utf8')}\n// deployment 2\n`);
    await page.evaluate(async () => (await navigator.serviceWorker.ready).update());
    const banner = page.getByRole('status').filter({ hasText: 'A new version of Backpact is ready.' });
    await expect(banner).toBeVisible();

    const oldScript = await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL);
    await Promise.all([page.waitForEvent('load'), banner.getByRole('button', { name: 'Update now' }).click()]);
    await expect(page.getByRole('heading', { level: 1, name: 'Back up with friends' })).toBeVisible();
    const swText = await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.ready;
      return reg.waiting === null && reg.active?.state;
    });
    expect(swText).toBe('activated');
    expect(oldScript).toContain('/sw.js');
  } finally {
    await context.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('the server answers /healthz and serves the app with a strict CSP', async ({ request, server }) => {
  const health = await request.get(new URL('/healthz', server.url).href);
  expect(health.status()).toBe(200);
  expect(await health.json()).toMatchObject({ ok: true });
  const index = await request.get(server.url);
  expect(index.status()).toBe(200);
  expect(index.headers()['content-security-policy']).toContain("script-src 'self'");
  expect(await index.text()).toContain('<div id="app">');
});

test('the server prints its URL and stops cleanly on Ctrl-C (SIGINT)', async () => {
  const server = await startServerProcess();
  expect(server.output.some((l) => l.startsWith(`Backpact is running at ${server.info.url}`))).toBe(true);
  expect(await server.stop()).toBe(0);
});
