/**
 * Golden fixtures for format tests: `expectGolden(url, actual)` compares `actual` (JSON-able,
 * bytes as hex) with the committed JSON file at `url`. Run with BACKPACT_UPDATE_GOLDEN=1 to
 * rewrite the file instead, only when a format change is intended (and documented in
 * docs/DESIGN.md §4 with a new version).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

/** Asserts `actual` equals the fixture at `url` (or writes it, see the module comment). */
export function expectGolden(url: URL, actual: unknown): void {
  const path = fileURLToPath(url);
  const text = `${JSON.stringify(actual, null, 2)}\n`;
  if (process.env.BACKPACT_UPDATE_GOLDEN === '1') {
    writeFileSync(path, text);
    return;
  }
  if (!existsSync(path)) throw new Error(`missing golden fixture ${path} (run with BACKPACT_UPDATE_GOLDEN=1 to create it)`);
  expect(actual).toEqual(JSON.parse(readFileSync(path, 'utf8')));
}
