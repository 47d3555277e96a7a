import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../encoding/bytes.ts';
import { MalformedError } from '../errors.ts';
import { crc32, crc32Combine, readZip, ZipWriter, type ZipEntry } from './zip.ts';

function zipOf(files: { entry: ZipEntry; data: Uint8Array }[]): Uint8Array {
  const w = new ZipWriter();
  const parts: Uint8Array[] = [];
  for (const f of files) parts.push(w.entry(f.entry), f.data);
  parts.push(w.finish());
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  expect(out.length).toBe(w.length);
  return out;
}

const file = (name: string, data: Uint8Array, mtime = Date.UTC(2024, 5, 1, 12, 30, 10)): { entry: ZipEntry; data: Uint8Array } => ({
  entry: { name, kind: 'file', size: data.length, crc: crc32(data), mtime },
  data,
});

describe('crc32', () => {
  it('matches the standard check value and continues across pieces', () => {
    expect(crc32(utf8('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    const all = utf8('The quick brown fox jumps over the lazy dog');
    expect(crc32(all)).toBe(0x414fa339);
    expect(crc32(all.subarray(7), crc32(all.subarray(0, 7)))).toBe(0x414fa339);
  });

  it('gives the bit-by-bit CRC for any length and alignment (the 16-byte word steps and the byte edges)', () => {
    const reference = (data: Uint8Array): number => {
      let c = 0xffffffff;
      for (const byte of data) {
        c ^= byte;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      }
      return ~c >>> 0;
    };
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), fc.nat({ max: 7 }), (bytes, skip) => {
      const view = bytes.subarray(Math.min(skip, bytes.length));
      expect(crc32(view)).toBe(reference(view));
    }), { numRuns: 400 });
    const big = new Uint8Array(1024 * 1024 + 13).map((_, i) => (i * 2654435761) >>> 24);
    for (const offset of [0, 1, 2, 3]) expect(crc32(big.subarray(offset))).toBe(reference(big.subarray(offset)));
  });

  it('combines the CRCs of two pieces into the CRC of both', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (a, b) => {
      const ab = new Uint8Array(a.length + b.length);
      ab.set(a);
      ab.set(b, a.length);
      expect(crc32Combine(crc32(a), crc32(b), b.length)).toBe(crc32(ab));
    }), { numRuns: 300 });
  });
});

describe('zip writer', () => {
  const entries = [
    file('docs/été 2024/notes.txt', utf8('bonjour\n')),
    file('empty.bin', new Uint8Array(0)),
    { entry: { name: 'an empty folder', kind: 'directory', size: 0, crc: 0, mtime: 0 } as ZipEntry, data: new Uint8Array(0) },
    file('random.bin', Uint8Array.from({ length: 70_000 }, (_, i) => (i * 2654435761) >>> 24)),
  ];

  it('writes entries its reader lists back with the same names, sizes and CRCs', () => {
    const zip = zipOf(entries);
    const listed = readZip(zip);
    expect(listed.map((e) => [e.name, e.kind, e.size])).toEqual(entries.map((e) => [e.entry.name, e.entry.kind, e.entry.size]));
    for (const [i, e] of listed.entries()) {
      expect(crc32(zip.subarray(e.dataOffset, e.dataOffset + e.size))).toBe(e.crc);
      expect(e.crc).toBe(entries[i]!.entry.crc);
    }
    expect(listed[0]!.mtimeS).toBe(Date.UTC(2024, 5, 1, 12, 30, 10) / 1000);
  });

  it('is read by Info-ZIP unzip with UTF-8 names and intact contents', () => {
    const dir = mkdtempSync(join(tmpdir(), 'backpact-zip-'));
    try {
      const path = join(dir, 'test.zip');
      writeFileSync(path, zipOf(entries));
      // Info-ZIP's own check where the machine has it (Debian images do); our reader otherwise.
      let out: string | null = null;
      try {
        out = execFileSync('unzip', ['-t', path], { encoding: 'utf8' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      if (out !== null) {
        expect(out).toMatch(/No errors detected/);
        expect(out).toContain('docs/été 2024/notes.txt');
      } else {
        expect(readZip(zipOf(entries))).toHaveLength(entries.length);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uses ZIP64 fields for entries of 4 GiB or more', () => {
    const w = new ZipWriter();
    const big = 5_000_000_000;
    const header = w.entry({ name: 'big', kind: 'file', size: big, crc: 1, mtime: 0 });
    const hv = new DataView(header.buffer);
    expect(hv.getUint32(18, true)).toBe(0xffffffff);
    expect(hv.getUint16(30 + 3, true)).toBe(0x0001);
    expect(Number(hv.getBigUint64(30 + 3 + 4, true))).toBe(big);
    const second = w.entry({ name: 'after', kind: 'file', size: 0, crc: 0, mtime: 0 });
    expect(second.length).toBeGreaterThan(0);
    const tail = w.finish();
    // The end of central directory points to the ZIP64 end record.
    const tv = new DataView(tail.buffer);
    const eocd = tail.length - 22;
    expect(tv.getUint32(eocd, true)).toBe(0x06054b50);
    expect(tv.getUint32(eocd + 16, true)).toBe(0xffffffff);
    const loc = eocd - 20;
    expect(tv.getUint32(loc, true)).toBe(0x07064b50);
    const end64 = loc - 56;
    expect(tv.getUint32(end64, true)).toBe(0x06064b50);
    expect(Number(tv.getBigUint64(end64 + 32, true))).toBe(2);
    expect(Number(tv.getBigUint64(end64 + 48, true))).toBe(header.length + big + second.length);
    expect(w.length).toBe(header.length + big + second.length + tail.length);
  });

  it('refuses misuse and damaged zips', () => {
    const w = new ZipWriter();
    expect(() => w.entry({ name: 'd', kind: 'directory', size: 3, crc: 0, mtime: 0 })).toThrow();
    w.finish();
    expect(() => w.entry({ name: 'x', kind: 'file', size: 0, crc: 0, mtime: 0 })).toThrow();
    const zip = zipOf(entries);
    expect(() => readZip(zip.subarray(0, zip.length - 30))).toThrow(MalformedError);
  });
});
