/**
 * Reed-Solomon throughput, MB/s of input (k × 1 MiB data shards per call), one core:
 * rs-encode-4+2, rs-encode-10+4, and rs-reconstruct-4+2 / rs-reconstruct-10+4 with the first m
 * data shards lost. Each configuration runs in its own child process (V8 specialises a closure
 * only while one instance exists, so sharing a process would slow the second configuration), and
 * each child measures the xor-loop baseline itself for `vsXor`.
 *
 * Run: npx tsx bench/core-rs.bench.ts            (all four, one child each)
 *      npx tsx bench/core-rs.bench.ts encode 4 2 (one configuration in this process)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { encode, reconstruct } from '../src/core/erasure/index.ts';
import { emit, measureMBps, nodeCommand, xorBaseline } from './lib.ts';

const SHARD = 1024 * 1024;

function shards(k: number): Uint8Array[] {
  return Array.from({ length: k }, (_, j) => {
    const w = new Uint32Array(SHARD / 4);
    let s = (j + 1) * 2654435761;
    for (let i = 0; i < w.length; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      w[i] = s;
    }
    return new Uint8Array(w.buffer);
  });
}

async function child(mode: 'encode' | 'reconstruct', k: number, m: number): Promise<void> {
  const data = shards(k);
  const name = `rs-${mode}-${k}+${m}`;
  let value: number;
  const extra: Record<string, unknown> = { shardBytes: SHARD };
  if (mode === 'encode') {
    value = await measureMBps(() => encode(data, m), k * SHARD);
  } else {
    const all = [...data, ...encode(data, m)];
    const lost = Array.from({ length: m }, (_, i) => i);
    const stripe = all.map((s, i) => (lost.includes(i) ? null : s));
    const out = reconstruct(stripe, k);
    for (const i of lost) if (Buffer.compare(out[i]!, all[i]!) !== 0) throw new Error(`${name}: wrong shard ${i}`);
    extra.lost = lost;
    value = await measureMBps(() => reconstruct(stripe, k), k * SHARD);
  }
  const xor = await xorBaseline();
  emit({ bench: name, value: Math.round(value), unit: 'MB/s', vsXor: Number((value / xor).toFixed(3)), xorMBps: Math.round(xor), ...extra });
}

const [mode, k, m] = process.argv.slice(2);
if (mode === 'encode' || mode === 'reconstruct') {
  await child(mode, Number(k), Number(m));
} else {
  const self = fileURLToPath(import.meta.url);
  for (const [md, kk, mm] of [['encode', 4, 2], ['encode', 10, 4], ['reconstruct', 4, 2], ['reconstruct', 10, 4]] as const) {
    const [cmd, ...args] = nodeCommand(self, [md, String(kk), String(mm)]);
    const r = spawnSync(cmd!, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
}
