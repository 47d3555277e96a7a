/**
 * What the signaling server observes for the open pool, kept apart from the routing rules:
 *
 * - {@link UptimeTracker}: per identity, when it was online (at least one authenticated socket)
 *   during the last 7 days, in bounded memory.
 * - {@link networkToken}: a coarse, keyed token of a client's network (/24 for IPv4, /48 for
 *   IPv6), so peers can spread partners over networks without the server revealing addresses.
 *
 * See docs/DESIGN.md §5 "Pool protocol".
 */
import { createHmac } from 'node:crypto';
import { isIP } from 'node:net';
import { toBase64Url } from '../src/protocol/encoding.ts';
import { SIGNALING_LIMITS } from '../src/protocol/signaling.ts';

/** Options of {@link UptimeTracker}. */
export interface UptimeOptions {
  /** Wall clock, ms since the epoch. */
  now: () => number;
  /** Length of the observation window, ms (7 days). */
  windowMs: number;
  /** Most closed online intervals kept per identity; older ones shorten the observed window. */
  maxIntervals: number;
  /** Most identities tracked; the least recently seen offline ones are forgotten first. */
  maxIds: number;
}

interface UptimeRecord {
  /** Start of what this server can vouch for: first seen, or later when history was dropped. */
  from: number;
  /** Closed online intervals, oldest first, flat: [start0, end0, start1, end1, …]. */
  closed: number[];
  /** Start of the current online interval, or null while offline. */
  openSince: number | null;
  /** Last time the identity was online (end of its last interval, or now while online). */
  lastSeen: number;
}

/**
 * Online time per identity over the last 7 days. `uptime(id)` = online ms / observed ms, where
 * observed = min(7 days, now − first seen): a server (or an identity) with less history is judged
 * on the history there is, rather than counted offline for days nobody observed. Memory per
 * identity is bounded by {@link UptimeOptions.maxIntervals}; when an identity flaps beyond it, the
 * oldest intervals are dropped *and* the observed window starts after them, so nothing unobserved
 * is ever counted as offline or online.
 */
export class UptimeTracker {
  private readonly records = new Map<string, UptimeRecord>();

  constructor(private readonly opts: UptimeOptions) {}

  /** Identities tracked (for metrics and tests). */
  get size(): number {
    return this.records.size;
  }

  /** The identity came online (its first socket authenticated). */
  online(id: string): void {
    const now = this.opts.now();
    let rec = this.records.get(id);
    if (rec) {
      this.records.delete(id); // re-inserted below: the map stays in least-recently-seen order
    } else {
      rec = { from: now, closed: [], openSince: null, lastSeen: now };
      this.evictIfFull();
    }
    if (rec.openSince === null) rec.openSince = now;
    rec.lastSeen = now;
    this.records.set(id, rec);
  }

  /** The identity went offline (its last socket closed). */
  offline(id: string): void {
    const rec = this.records.get(id);
    if (!rec || rec.openSince === null) return;
    const now = Math.max(this.opts.now(), rec.openSince);
    rec.closed.push(rec.openSince, now);
    rec.openSince = null;
    rec.lastSeen = now;
    this.prune(rec, now);
  }

  /**
   * Fraction (0–1) of the observed part of the last 7 days the identity was online; 0 for an
   * identity never seen. Rounded to 4 decimals.
   */
  uptime(id: string): number {
    const rec = this.records.get(id);
    if (!rec) return 0;
    const now = this.opts.now();
    const start = Math.max(now - this.opts.windowMs, rec.from);
    const observed = now - start;
    if (observed <= 0) return rec.openSince !== null ? 1 : 0;
    let online = 0;
    for (let i = 0; i < rec.closed.length; i += 2) {
      online += Math.max(0, Math.min(rec.closed[i + 1]!, now) - Math.max(rec.closed[i]!, start));
    }
    if (rec.openSince !== null) online += Math.max(0, now - Math.max(rec.openSince, start));
    return Math.round(Math.min(1, online / observed) * 10_000) / 10_000;
  }

  /** Forgets identities not seen for a whole window and history older than the window. */
  sweep(): void {
    const now = this.opts.now();
    for (const [id, rec] of this.records) {
      if (rec.openSince === null && rec.lastSeen < now - this.opts.windowMs) this.records.delete(id);
      else this.prune(rec, now);
    }
  }

  private prune(rec: UptimeRecord, now: number): void {
    const cutoff = now - this.opts.windowMs;
    let drop = 0;
    while (drop < rec.closed.length && rec.closed[drop + 1]! <= cutoff) drop += 2;
    // Over the cap: drop the oldest intervals and start the observed window after them.
    const excess = rec.closed.length - drop - 2 * this.opts.maxIntervals;
    if (excess > 0) {
      drop += excess;
      rec.from = Math.max(rec.from, rec.closed[drop - 1]!);
    }
    if (drop > 0) rec.closed.splice(0, drop);
  }

  private evictIfFull(): void {
    if (this.records.size < this.opts.maxIds) return;
    // Least recently seen first (insertion order); identities online now are never forgotten.
    for (const [id, rec] of this.records) {
      if (rec.openSince === null) {
        this.records.delete(id);
        if (this.records.size < this.opts.maxIds) return;
      }
    }
  }
}

/** Expands an IPv6 address to its 8 groups of 16 bits; null when it is not one. */
function ipv6Groups(ip: string): number[] | null {
  let text = ip.split('%')[0]!; // zone id
  let tail: number[] = [];
  const v4 = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (v4) {
    const b = v4[1]!.split('.').map(Number);
    tail = [(b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!];
    text = text.slice(0, text.length - v4[1]!.length);
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const fill = 8 - head.length - rest.length - tail.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return null;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...rest, ...tail];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

/**
 * The network an address belongs to, as text: `4:a.b.c` (the /24) for IPv4 and IPv4-mapped IPv6,
 * `6:g0:g1:g2` (the /48) for IPv6, and `?:<address>` for anything else (e.g. a unix socket).
 */
export function networkPrefix(ip: string): string {
  const kind = isIP(ip);
  if (kind === 4) return `4:${ip.split('.').slice(0, 3).map(Number).join('.')}`;
  if (kind === 6) {
    const g = ipv6Groups(ip);
    if (g) {
      const mapped = g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
      if (mapped) return `4:${g[6]! >> 8}.${g[6]! & 0xff}.${g[7]! >> 8}`;
      return `6:${g.slice(0, 3).map((x) => x.toString(16)).join(':')}`;
    }
  }
  return `?:${ip}`;
}

/**
 * The network token of `ip`: HMAC-SHA256(key, "backpact/v1/network-token" ‖ 0x00 ‖ prefix),
 * truncated to 6 bytes (8 base64url characters). The key is random per server process, so a
 * token cannot be turned back into a network by trying all 2^24 IPv4 /24s, nor linked across
 * server restarts; 48 bits keep accidental collisions between networks negligible.
 */
export function networkToken(key: Uint8Array, ip: string): string {
  const mac = createHmac('sha256', key).update('backpact/v1/network-token\0').update(networkPrefix(ip)).digest();
  return toBase64Url(new Uint8Array(mac.subarray(0, SIGNALING_LIMITS.networkTokenBytes)));
}
