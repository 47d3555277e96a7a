/**
 * Refusals of the holder side: a partner asked this device to store a shard and it will not.
 * Each is permanent for that request; the owner must place the shard elsewhere (or, for
 * {@link DeviceStorageFullError}, try again later). Nothing was stored when one is thrown.
 */
import { BackpactError } from '../errors.ts';

/** The owner has no running agreement with this holder. */
export class NoAgreementError extends BackpactError {
  readonly code = 'no-agreement';
  constructor(readonly owner: string) {
    super('There is no backup agreement with this partner, so nothing was stored.');
  }
}

/** The write would take the owner past the quota agreed with this holder. */
export class HolderQuotaExceededError extends BackpactError {
  readonly code = 'quota-exceeded';
  constructor(
    readonly owner: string,
    /** Bytes already held for the owner. */
    readonly used: number,
    /** Bytes the agreement allows. */
    readonly allowed: number,
    /** Size of the refused shard. */
    readonly size: number,
  ) {
    super(`Storing ${size} more bytes would exceed the agreed ${allowed} bytes (${used} already used); nothing was stored.`);
  }
}

/** The device itself has no room (browser storage quota or disk full). */
export class DeviceStorageFullError extends BackpactError {
  readonly code = 'device-storage-full';
  constructor(readonly size: number) {
    super(`This device has no room for ${size} more bytes; nothing was stored.`);
  }
}
