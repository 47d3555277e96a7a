/** Plain words for partner warnings and self-check findings (DESIGN §8), shared by the screens. */
import type { PartnerWarning } from '../../core/audit/warnings.ts';

const day = (ms: number): string => new Date(ms).toLocaleDateString(undefined, { day: 'numeric', month: 'long', year: 'numeric' });

function daysSince(ms: number, now: number): string {
  const d = Math.max(1, Math.floor((now - ms) / 86_400_000));
  return `${d} ${d === 1 ? 'day' : 'days'}`;
}

/** What the owner is told about partner `name`. */
export function ownerWarningText(name: string, w: PartnerWarning, now = Date.now()): string {
  switch (w.level) {
    case 'unreachable':
      return `${name}’s copy of your backup could not be checked for ${daysSince(w.since, now)}; if this goes on until ${day(w.dropAt!)}, Backpact will stop using ${name} and move your data.`;
    case 'failing':
      return `${name}’s copy of your backup failed a check on ${day(w.since)}. Backpact is rebuilding the pieces ${name} kept with another partner; if the next checks fail too (around ${day(w.dropAt!)}), Backpact will stop using ${name}.`;
    default:
      return `Backpact stopped using ${name}: the copy there can no longer be trusted, so your data is being moved to your other partners.`;
  }
}

/** A notice received from owner `name` about the data this device keeps for them. */
export interface NoticeView {
  name: string;
  level: 'unreachable' | 'failing' | 'dropped' | 'ok';
  since: number | null;
  dropAt: number | null;
  at: number;
}

/** What the holder is told when owner `name` warned it. */
export function receivedWarningText(n: NoticeView, now = Date.now()): string {
  switch (n.level) {
    case 'failing':
      return `${n.name}’s checks of the data you keep for them are failing on this device${n.dropAt !== null ? `; if this goes on (around ${day(n.dropAt)}), ${n.name}’s app will stop using this device` : ''}. Keep Backpact open and check this device’s storage.`;
    case 'unreachable':
      return `${n.name} could not reach you to check the data you keep for them for ${daysSince(n.since ?? n.at, now)}${n.dropAt !== null ? `; if this goes on until ${day(n.dropAt)}, ${n.name}’s app will stop using this device` : ''}. Open Backpact more often.`;
    default:
      return `${n.name}’s app stopped keeping a backup on this device.`;
  }
}

/** "Bob reported 2 damaged pieces on 3 March 2027; they will be rebuilt." */
export function damageReportText(name: string, count: number, at: number): string {
  return `${name} reported ${count === 1 ? 'a damaged piece' : `${count} damaged pieces`} of your backup on ${day(at)}; ${count === 1 ? 'it' : 'they'} will be rebuilt.`;
}

/** Holder side: pieces of `name`'s backup found damaged on this device. */
export function damagedHereText(name: string, count: number): string {
  return `This device’s self-check found ${count === 1 ? 'a damaged piece' : `${count} damaged pieces`} of ${name}’s backup and told ${name}, so they can be rebuilt.`;
}
