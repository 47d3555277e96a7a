import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.ts';
import { BufferPool } from './buffers.ts';

describe('BufferPool', () => {
  it('hands out fresh zeroed buffers until one is given back, then reuses it for a similar size', () => {
    const pool = new BufferPool(2);
    const a = pool.take(1000);
    expect(a.length).toBe(1000);
    expect(a.every((b) => b === 0)).toBe(true);
    a.fill(7);
    pool.give(a.buffer);
    expect(pool.size).toBe(1);
    const b = pool.take(900);
    expect(b.buffer).toBe(a.buffer);
    expect(b.length).toBe(900);
    expect(pool.stats).toEqual({ reused: 1, allocated: 1 });
    expect(pool.size).toBe(0);
  });

  it('does not hand out a buffer too small, or more than twice the size asked', () => {
    const pool = new BufferPool(4);
    pool.give(new ArrayBuffer(100));
    pool.give(new ArrayBuffer(10_000));
    const small = pool.take(1000);
    expect(small.buffer.byteLength).toBe(1000);
    expect(pool.stats.allocated).toBe(1);
    expect(pool.take(6000).buffer.byteLength).toBe(10_000);
    expect(pool.take(60).buffer.byteLength).toBe(100);
  });

  it('keeps at most maxBuffers, never the same buffer twice, and ignores detached or shared memory', () => {
    const pool = new BufferPool(2);
    const a = new ArrayBuffer(64);
    pool.give(a);
    pool.give(a);
    expect(pool.size).toBe(1);
    const detached = new ArrayBuffer(64);
    structuredClone(detached, { transfer: [detached] });
    pool.give(detached);
    pool.give(new SharedArrayBuffer(64));
    expect(pool.size).toBe(1);
    pool.give(new ArrayBuffer(64));
    pool.give(new ArrayBuffer(64));
    expect(pool.size).toBe(2);
    pool.clear();
    expect(pool.size).toBe(0);
    expect(new BufferPool(0).take(8).length).toBe(8);
  });

  it('rejects nonsense sizes', () => {
    expect(() => new BufferPool(-1)).toThrow(InvalidArgumentError);
    expect(() => new BufferPool().take(1.5)).toThrow(InvalidArgumentError);
  });
});
