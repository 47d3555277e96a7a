/** Plain-words formatting shared by screens. */
import { AVAILABILITY, type Availability } from '../core/agreement/terms.ts';

/** "1.5 GB", "820 MB", "12 KB", "0 bytes" (decimal units, as storage is sold). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} ${n === 1 ? 'byte' : 'bytes'}`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  do {
    v /= 1000;
    u++;
  } while (v >= 1000 && u < units.length - 1);
  return `${v >= 100 ? Math.round(v) : v.toFixed(1).replace(/\.0$/, '')} ${units[u]}`;
}

/** "A few hours a day" etc. */
export function availabilityLabel(a: Availability): string {
  return AVAILABILITY[a].label;
}

/** "3 days", "5 hours", "1 day". */
export function formatDuration(seconds: number): string {
  const days = Math.round(seconds / 86400);
  if (days >= 1) return `${days} ${days === 1 ? 'day' : 'days'}`;
  const hours = Math.round(seconds / 3600);
  return `${hours} ${hours === 1 ? 'hour' : 'hours'}`;
}
