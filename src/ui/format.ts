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

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * When something happens, in local time, relative to `now`: "now", "today at 18:00",
 * "tomorrow at 07:30", "on Monday at 09:00" (within a week), "on 3 Dec at 09:00".
 */
export function formatWhen(at: number, now: number): string {
  if (at <= now + 30_000) return 'now';
  const d = new Date(at);
  const time = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  const dayStart = (t: number): number => {
    const x = new Date(t);
    return new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  };
  const days = Math.round((dayStart(at) - dayStart(now)) / 86_400_000);
  if (days === 0) return `today at ${time}`;
  if (days === 1) return `tomorrow at ${time}`;
  if (days < 7) return `on ${WEEKDAYS[d.getDay()]} at ${time}`;
  return `on ${d.getDate()} ${MONTHS[d.getMonth()]} at ${time}`;
}
