/**
 * Proves the layering rule in eslint.config.js fires: src/core may not use browser-only APIs or
 * adapter packages, while the same code is allowed in an adapter folder.
 */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

async function ruleIds(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => `${m.ruleId}:${m.line}`);
}

const VIOLATIONS = [
  "import { openDB } from 'idb';",                    // 1: adapter package
  "import * as Comlink from 'comlink';",              // 2
  "import { mount } from 'svelte';",                  // 3
  'export const a = window.innerWidth;',              // 4: browser globals
  "export const b = indexedDB.open('x');",            // 5
  'export const c = new RTCPeerConnection();',        // 6
  "export const d = document.createElement('p');",    // 7
  'export const e = globalThis.localStorage;',        // 8: reached through globalThis
  "import { x } from '../p2p/link.ts';",              // 9: adapter layer
  'export const f = [openDB, Comlink, mount, x];',    // 10
].join('\n');

describe('core layering lint rule', () => {
  it('reports every browser API and adapter import in src/core', async () => {
    const ids = await ruleIds(VIOLATIONS, 'src/core/lint-fixture.ts');
    expect(ids).toEqual(expect.arrayContaining([
      'no-restricted-imports:1', 'no-restricted-imports:2', 'no-restricted-imports:3',
      'no-restricted-globals:4', 'no-restricted-globals:5', 'no-restricted-globals:6', 'no-restricted-globals:7',
      'no-restricted-properties:8', 'no-restricted-imports:9',
    ]));
  });

  it('allows the same code outside src/core', async () => {
    const ids = await ruleIds(VIOLATIONS, 'src/store/lint-fixture.ts');
    expect(ids.filter((id) => /^no-restricted-/.test(id))).toEqual([]);
  });

  it('accepts pure code in src/core (WebCrypto through globalThis is fine)', async () => {
    const ids = await ruleIds("import { sha256 } from '@noble/hashes/sha2.js';\nexport const h = [sha256, globalThis.crypto];\n", 'src/core/lint-fixture.ts');
    expect(ids).toEqual([]);
  });
});
