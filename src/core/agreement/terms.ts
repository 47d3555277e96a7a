/**
 * Agreements: the signed record of what two partners hold for each other and on what terms
 * (docs/DESIGN.md §6). Terms are quantized so negotiation is quick and offers are comparable.
 *
 * Life cycle: propose → (counter)* → accept (both sign the same canonical terms) → amend (new
 * revision, both sign again) → end (a revision with `endsAt` = notice time + grace period, during
 * which the holder keeps the shards so the owner can move them).
 */
import { toBase32 } from '../encoding/bytes.ts';
import { InvalidArgumentError, MalformedError, UnsupportedVersionError } from '../errors.ts';

/** Version of the agreement format. */
export const AGREEMENT_VERSION = 1;

/** Quota steps, in GB (10^9 bytes, as storage is sold): quantized terms negotiate in one round. */
export const QUOTA_STEPS_GB = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] as const;

const GB = 1_000_000_000;
const MAX_QUOTA_GB = 1000;

/** How much of the day a party promises to be online, in plain words and as a fraction. */
export const AVAILABILITY = {
  'few-hours': { label: 'A few hours a day', fraction: 0.15 },
  'most-of-day': { label: 'Most of the day', fraction: 0.6 },
  'always-on': { label: 'Always on', fraction: 0.95 },
} as const;

/** An availability level. */
export type Availability = keyof typeof AVAILABILITY;

/** Default audit interval: once a day (DESIGN-BRIEF §5). */
export const DEFAULT_AUDIT_INTERVAL_S = 24 * 3600;
/** Audit interval while a stranger from the open pool is on probation. */
export const PROBATION_AUDIT_INTERVAL_S = 6 * 3600;
/** Default grace period for being offline, as in the founding design: 14 days. */
export const DEFAULT_GRACE_S = 14 * 24 * 3600;
/** Shortest audit interval accepted from a partner (anything shorter is a denial of service). */
export const MIN_AUDIT_INTERVAL_S = 3600;
/** Shortest grace period accepted: a day, so a weekend offline never loses a partnership. */
export const MIN_GRACE_S = 24 * 3600;

/** One side of an agreement. */
export interface PartyTerms {
  /** Ed25519 public key, base32 (the identity the other side pins). */
  publicKey: string;
  /** Display name the party chose (shown to the other, not verified). */
  name: string;
  /** Bytes this party stores for the other party. */
  holdsBytes: number;
  /** How much of the day this party promises to be online. */
  availability: Availability;
}

/** The terms both parties sign. Plain data; encodes canonically. */
export interface AgreementTerms {
  v: typeof AGREEMENT_VERSION;
  /** Random 128-bit id, base32; stable across revisions. */
  id: string;
  /** 1 for the first accepted terms; +1 on every amendment or ending. */
  revision: number;
  /** The party that proposed revision 1. */
  a: PartyTerms;
  /** The other party. */
  b: PartyTerms;
  auditIntervalS: number;
  graceS: number;
  /** True for strangers from the open pool: more frequent audits, at most one shard per pack. */
  probation: boolean;
  /** Unix milliseconds. */
  createdAt: number;
  updatedAt: number;
  /** Unix ms after which the holder may delete; null while the agreement runs. */
  endsAt: number | null;
}

/** Smallest quota step that is at least `bytes` (the largest step if `bytes` exceeds it). */
export function quantizeQuota(bytes: number): number {
  for (const gb of QUOTA_STEPS_GB) if (gb * GB >= bytes) return gb * GB;
  return MAX_QUOTA_GB * GB;
}

/** True when `bytes` is exactly one of the quota steps. */
export function isQuantizedQuota(bytes: number): boolean {
  return QUOTA_STEPS_GB.some((gb) => gb * GB === bytes);
}

/** "5 GB" for a quantized quota. */
export function formatQuota(bytes: number): string {
  return `${Math.round(bytes / GB)} GB`;
}

/** What a proposer states. */
export interface ProposalInput {
  me: Omit<PartyTerms, 'holdsBytes'>;
  other: Omit<PartyTerms, 'holdsBytes'>;
  /** Bytes each side holds for the other (symmetric, as reciprocity requires). */
  quotaBytes: number;
  probation?: boolean;
  auditIntervalS?: number;
  graceS?: number;
  now: number;
  /** 16 random bytes for the id (injected so tests are deterministic). */
  idBytes: Uint8Array;
}

/** Builds a proposal: symmetric quota, default intervals. Validates the result. */
export function proposeTerms(input: ProposalInput): AgreementTerms {
  if (input.idBytes.length !== 16) throw new InvalidArgumentError('agreement id needs 16 random bytes');
  const probation = input.probation ?? false;
  const terms: AgreementTerms = {
    v: AGREEMENT_VERSION,
    id: toBase32(input.idBytes),
    revision: 1,
    a: { ...input.me, holdsBytes: input.quotaBytes },
    b: { ...input.other, holdsBytes: input.quotaBytes },
    auditIntervalS: input.auditIntervalS ?? (probation ? PROBATION_AUDIT_INTERVAL_S : DEFAULT_AUDIT_INTERVAL_S),
    graceS: input.graceS ?? DEFAULT_GRACE_S,
    probation,
    createdAt: input.now,
    updatedAt: input.now,
    endsAt: null,
  };
  return parseTerms(terms);
}

/** What a counter-offer or an amendment may change. */
export interface TermsChange {
  quotaBytes?: number;
  availabilityOf?: { publicKey: string; availability: Availability };
  auditIntervalS?: number;
  graceS?: number;
}

/** The same terms with `change` applied (same revision: a counter-offer before acceptance). */
export function counterTerms(terms: AgreementTerms, change: TermsChange, now: number): AgreementTerms {
  const next: AgreementTerms = structuredCloneTerms(terms);
  if (change.quotaBytes !== undefined) {
    next.a.holdsBytes = change.quotaBytes;
    next.b.holdsBytes = change.quotaBytes;
  }
  if (change.availabilityOf) {
    const party = partyByKey(next, change.availabilityOf.publicKey);
    party.availability = change.availabilityOf.availability;
  }
  if (change.auditIntervalS !== undefined) next.auditIntervalS = change.auditIntervalS;
  if (change.graceS !== undefined) next.graceS = change.graceS;
  next.updatedAt = now;
  return parseTerms(next);
}

/** A new revision of accepted terms with `change` applied; both parties must sign it again. */
export function amendTerms(terms: AgreementTerms, change: TermsChange, now: number): AgreementTerms {
  if (terms.endsAt !== null) throw new InvalidArgumentError('an ended agreement cannot be amended');
  return { ...counterTerms(terms, change, now), revision: terms.revision + 1 };
}

/**
 * A new revision that ends the agreement with notice: the holder keeps the shards until
 * `now + graceS`, so the owner can re-place them.
 */
export function endTerms(terms: AgreementTerms, now: number): AgreementTerms {
  if (terms.endsAt !== null) return terms;
  return parseTerms({ ...structuredCloneTerms(terms), revision: terms.revision + 1, updatedAt: now, endsAt: now + terms.graceS * 1000 });
}

/** The party with `publicKey`; throws {@link InvalidArgumentError} if neither is. */
export function partyByKey(terms: AgreementTerms, publicKey: string): PartyTerms {
  if (terms.a.publicKey === publicKey) return terms.a;
  if (terms.b.publicKey === publicKey) return terms.b;
  throw new InvalidArgumentError('that key is not a party to this agreement');
}

/** The other party than the one with `publicKey`. */
export function otherParty(terms: AgreementTerms, publicKey: string): PartyTerms {
  return terms.a.publicKey === publicKey ? terms.b : (partyByKey(terms, publicKey), terms.a);
}

function structuredCloneTerms(t: AgreementTerms): AgreementTerms {
  return { ...t, a: { ...t.a }, b: { ...t.b } };
}

const FORMAT = 'agreement';

function fail(reason: string): never {
  throw new MalformedError(FORMAT, reason);
}

function obj(x: unknown, what: string): Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) fail(`${what} must be an object`);
  return x as Record<string, unknown>;
}

function int(x: unknown, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min || x > max) fail(`${what} must be an integer from ${min} to ${max}`);
  return x;
}

function str(x: unknown, what: string, re: RegExp): string {
  if (typeof x !== 'string' || !re.test(x)) fail(`${what} is not valid`);
  return x;
}

/** A display name: 1–64 characters, no control characters (they could spoof the UI). */
function displayName(x: unknown, what: string): string {
  if (typeof x !== 'string' || x.length < 1 || x.length > 64 || [...x].some((c) => c.charCodeAt(0) < 0x20 || c === '\u007f')) {
    fail(`${what} must be 1 to 64 printable characters`);
  }
  return x;
}

function parseParty(x: unknown, what: string): PartyTerms {
  const p = obj(x, what);
  const holdsBytes = int(p.holdsBytes, `${what}.holdsBytes`, 1);
  if (!isQuantizedQuota(holdsBytes)) fail(`${what}.holdsBytes must be a quota step`);
  if (typeof p.availability !== 'string' || !Object.hasOwn(AVAILABILITY, p.availability)) fail(`${what}.availability is not a known level`);
  return {
    // 32-byte Ed25519 key = 52 base32 characters.
    publicKey: str(p.publicKey, `${what}.publicKey`, /^[a-z2-7]{52}$/),
    name: displayName(p.name, `${what}.name`),
    holdsBytes,
    availability: p.availability as Availability,
  };
}

/**
 * Validates untrusted input (from a partner or from storage) as agreement terms. Throws
 * {@link MalformedError} naming the first problem, {@link UnsupportedVersionError} for another `v`.
 * Returns a fresh object holding only the known fields.
 */
export function parseTerms(x: unknown): AgreementTerms {
  const t = obj(x, 'terms');
  if (t.v !== AGREEMENT_VERSION) {
    if (typeof t.v === 'number') throw new UnsupportedVersionError(FORMAT, t.v);
    fail('v is missing');
  }
  const a = parseParty(t.a, 'a');
  const b = parseParty(t.b, 'b');
  if (a.publicKey === b.publicKey) fail('a party cannot partner with itself');
  if (a.holdsBytes !== b.holdsBytes) fail('quotas must be symmetric');
  const createdAt = int(t.createdAt, 'createdAt', 0);
  const updatedAt = int(t.updatedAt, 'updatedAt', createdAt);
  const endsAt = t.endsAt === null ? null : int(t.endsAt, 'endsAt', updatedAt);
  if (typeof t.probation !== 'boolean') fail('probation must be true or false');
  return {
    v: AGREEMENT_VERSION,
    id: str(t.id, 'id', /^[a-z2-7]{26}$/),
    revision: int(t.revision, 'revision', 1),
    a,
    b,
    auditIntervalS: int(t.auditIntervalS, 'auditIntervalS', MIN_AUDIT_INTERVAL_S, 366 * 24 * 3600),
    graceS: int(t.graceS, 'graceS', MIN_GRACE_S, 366 * 24 * 3600),
    probation: t.probation,
    createdAt,
    updatedAt,
    endsAt,
  };
}
