import { describe, expect, it } from 'vitest';
import { identityFromPrivateKey, signTagged } from '../keys/identity.ts';
import {
  decideWarning, HEALTH_NOTICE_TAG, healthNoticeBytes, initialHealth, partnerWarning, recordAudit, recordUnreachable,
  verifyHealthNotice, type HealthNotice, type PartnerHealth, type WarningMemo,
} from './index.ts';

const DAY = 86_400_000;
const GRACE_S = 14 * 86_400;
const INTERVAL_S = 86_400;

function passes(n: number, start = 0): PartnerHealth {
  let h = initialHealth();
  for (let i = 0; i < n; i++) h = recordAudit(h, true, start + i * DAY);
  return h;
}

describe('which warning a partner\'s health calls for', () => {
  it('none while healthy, nor while offline for less than half the grace period', () => {
    const h = passes(5);
    expect(partnerWarning(h, 5 * DAY, GRACE_S, INTERVAL_S)).toBeNull();
    const off = recordUnreachable(h, 10 * DAY);
    expect(partnerWarning(off, 10 * DAY + 7 * DAY, GRACE_S, INTERVAL_S)).toBeNull(); // exactly half: not yet
  });

  it('unreachable past half the grace period, dropping at its end', () => {
    const off = recordUnreachable(passes(5), 10 * DAY);
    expect(partnerWarning(off, 10 * DAY + 7 * DAY + 1, GRACE_S, INTERVAL_S)).toEqual({ level: 'unreachable', since: 10 * DAY, dropAt: 24 * DAY });
    expect(partnerWarning(off, 24 * DAY + 1, GRACE_S, INTERVAL_S)).toEqual({ level: 'dropped', since: 24 * DAY, dropAt: null });
  });

  it('failing after a wrong answer, with the drop estimated from the failures left', () => {
    const failed = recordAudit(passes(5), false, 6 * DAY);
    expect(partnerWarning(failed, 6 * DAY + 5, GRACE_S, INTERVAL_S)).toEqual({ level: 'failing', since: 6 * DAY, dropAt: 6 * DAY + 2 * DAY });
    const twice = recordAudit(failed, false, 7 * DAY);
    expect(partnerWarning(twice, 7 * DAY, GRACE_S, INTERVAL_S)).toEqual({ level: 'failing', since: 7 * DAY, dropAt: 8 * DAY });
    const thrice = recordAudit(twice, false, 8 * DAY);
    expect(partnerWarning(thrice, 8 * DAY, GRACE_S, INTERVAL_S)).toEqual({ level: 'dropped', since: 8 * DAY, dropAt: null });
  });
});

describe('once per partner per state change', () => {
  const failing = { level: 'failing' as const, since: 100, dropAt: 500 };

  it('a new episode notifies the owner and queues a notice for the partner', () => {
    const d = decideWarning(undefined, failing, 120);
    expect(d.notify).toBe(true);
    expect(d.send).toEqual({ level: 'failing', since: 100, dropAt: 500, at: 120 });
    expect(d.memo).toEqual({ level: 'failing', since: 100 });
  });

  it('the same level again does nothing, even with a later failure', () => {
    const memo: WarningMemo = { level: 'failing', since: 100 };
    const d = decideWarning(memo, { ...failing, since: 200, dropAt: 600 }, 210);
    expect(d).toEqual({ memo, notify: false, send: null });
  });

  it('a change of level is a new episode; recovery sends an all-clear without a notification', () => {
    const memo: WarningMemo = { level: 'unreachable', since: 50 };
    const worse = decideWarning(memo, failing, 130);
    expect(worse.notify).toBe(true);
    expect(worse.send?.level).toBe('failing');
    const clear = decideWarning(worse.memo, null, 140);
    expect(clear).toEqual({ memo: { level: 'ok', since: null }, notify: false, send: { level: 'ok', since: null, dropAt: null, at: 140 } });
    expect(decideWarning(clear.memo, null, 150)).toEqual({ memo: { level: 'ok', since: null }, notify: false, send: null });
    expect(decideWarning(undefined, null, 150).send).toBeNull();
  });

  it('a whole failing run notifies exactly twice: when it fails, and when it is dropped', () => {
    let h = passes(3);
    let memo: WarningMemo | undefined;
    let notifications = 0;
    const sent: string[] = [];
    for (let day = 3; day < 12; day++) {
      h = recordAudit(h, false, day * DAY);
      const d = decideWarning(memo, partnerWarning(h, day * DAY, GRACE_S, INTERVAL_S), day * DAY);
      memo = d.memo;
      if (d.notify) notifications++;
      if (d.send) sent.push(d.send.level);
    }
    expect(notifications).toBe(2);
    expect(sent).toEqual(['failing', 'dropped']);
  });
});

describe('signed health notices', () => {
  const owner = identityFromPrivateKey(new Uint8Array(32).fill(3));
  const holder = identityFromPrivateKey(new Uint8Array(32).fill(4));
  const other = identityFromPrivateKey(new Uint8Array(32).fill(5));
  const notice: HealthNotice = { level: 'unreachable', since: 1000, dropAt: 2000, at: 1500 };
  const sig = signTagged(owner.privateKey, HEALTH_NOTICE_TAG, healthNoticeBytes(holder.publicKey, notice));

  it('verify under the owner\'s key, for this holder, for these values only', () => {
    expect(verifyHealthNotice(owner.publicKey, holder.publicKey, notice, sig)).toBe(true);
    expect(verifyHealthNotice(other.publicKey, holder.publicKey, notice, sig)).toBe(false);
    expect(verifyHealthNotice(owner.publicKey, other.publicKey, notice, sig)).toBe(false);
    expect(verifyHealthNotice(owner.publicKey, holder.publicKey, { ...notice, dropAt: 3000 }, sig)).toBe(false);
    expect(verifyHealthNotice(owner.publicKey, holder.publicKey, { ...notice, level: 'failing' }, sig)).toBe(false);
  });
});
