#!/usr/bin/env node
// Draws Backpact's app icons (a rounded backpack with a check mark) as PNG files in public/icons/.
// Pure Node (zlib) so no image tool is needed; run once when the design changes, output committed.
import { writeFileSync, mkdirSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const CRC_TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
function png(size, pixel) {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      const [r, g, b, a] = pixel((x + 0.5) / size, (y + 0.5) / size);
      const o = y * (size * 4 + 1) + 1 + x * 4;
      raw[o] = r; raw[o + 1] = g; raw[o + 2] = b; raw[o + 3] = a;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0); ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; ihdr[9] = 6; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0)),
  ]);
}
const BG = [15, 76, 92, 255];      // deep teal, the theme colour
const BAG = [245, 240, 225, 255];  // canvas
const POCKET = [231, 111, 81, 255];
const CHECK = [15, 76, 92, 255];
function roundRect(x, y, x0, y0, x1, y1, r) {
  const cx = Math.min(Math.max(x, x0 + r), x1 - r);
  const cy = Math.min(Math.max(y, y0 + r), y1 - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}
function nearSegment(x, y, ax, ay, bx, by, w) {
  const t = Math.max(0, Math.min(1, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)));
  return (x - ax - t * (bx - ax)) ** 2 + (y - ay - t * (by - ay)) ** 2 <= w * w;
}
// `inset` shrinks the drawing into the maskable safe zone (a circle of 80% diameter).
function icon(inset, rounded) {
  return (u, v) => {
    if (rounded && !roundRect(u, v, 0, 0, 1, 1, 0.2)) return [0, 0, 0, 0];
    const s = (t) => (t - 0.5) / inset + 0.5;
    const x = s(u), y = s(v);
    const strap = nearSegment(x, y, 0.38, 0.2, 0.38, 0.3, 0.035) || nearSegment(x, y, 0.62, 0.2, 0.62, 0.3, 0.035) || nearSegment(x, y, 0.38, 0.18, 0.62, 0.18, 0.035);
    if (strap) return BAG;
    if (roundRect(x, y, 0.24, 0.26, 0.76, 0.84, 0.12)) {
      if (nearSegment(x, y, 0.38, 0.6, 0.47, 0.69, 0.04) || nearSegment(x, y, 0.47, 0.69, 0.64, 0.5, 0.04)) return CHECK;
      if (roundRect(x, y, 0.32, 0.44, 0.68, 0.78, 0.06)) return POCKET;
      return BAG;
    }
    return BG;
  };
}
mkdirSync('public/icons', { recursive: true });
writeFileSync('public/icons/icon-192.png', png(192, icon(1, true)));
writeFileSync('public/icons/icon-512.png', png(512, icon(1, true)));
writeFileSync('public/icons/maskable-512.png', png(512, icon(0.8, false)));
writeFileSync('public/icons/apple-touch-icon.png', png(180, icon(0.85, false)));
console.log('icons written to public/icons/');
