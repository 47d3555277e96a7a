// Finds a Chromium for Playwright: $CHROMIUM_PATH, then /usr/bin/chromium, then Playwright's own
// download. Where none is found and this machine can (root with apt-get), installs Debian's
// `chromium`; otherwise stops with a message that says exactly how to get one.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

function playwrightOwn() {
  try {
    // Resolved lazily: playwright-core may not know a browser on this machine.
    return spawnSync(process.execPath, ['-e', "process.stdout.write(require('playwright-core').chromium.executablePath())"], { encoding: 'utf8' }).stdout.trim();
  } catch {
    return '';
  }
}

/** Returns the path of a usable Chromium, installing Debian's package when possible. */
export function findChromium({ install = true, log = (m) => process.stderr.write(`${m}\n`) } = {}) {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', playwrightOwn()];
  for (const c of candidates) if (c && existsSync(c)) return c;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = existsSync('/usr/bin/apt-get');
  if (install && isRoot && hasApt) {
    log('Chromium not found: installing Debian\'s "chromium" package (apt-get)…');
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  }
  throw new Error([
    'No Chromium found for the end-to-end tests. Any one of these fixes it:',
    '  - on Debian/Ubuntu: sudo apt-get install chromium   (then run the tests again)',
    '  - or point CHROMIUM_PATH at a Chromium or Chrome binary: CHROMIUM_PATH=/path/to/chrome npm test',
    '  - or, with internet access, let Playwright fetch its own: npx playwright install chromium',
  ].join('\n'));
}
