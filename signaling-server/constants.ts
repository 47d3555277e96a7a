/**
 * Every tunable of the signaling server, with the reason for its value. Values that operators
 * may need to change are defaults of {@link ../config.ts}; the rest are fixed here.
 */

/**
 * An unauthenticated socket holds memory and a per-IP slot; an honest client answers the
 * challenge within one round trip, so 10 s is generous even on a slow phone network.
 */
export const AUTH_TIMEOUT_MS = 10_000;

/**
 * Sustained messages per second per socket (all types). A link set-up is an offer or answer plus
 * ~2–10 ICE candidates; an app with a dozen partners re-linking at once stays well below 50/s.
 */
export const RATE_MESSAGES_PER_S = 50;

/** Burst allowance for {@link RATE_MESSAGES_PER_S}: a reconnect re-subscribes and re-links at once. */
export const RATE_MESSAGES_BURST = 200;

/**
 * Sustained relayed messages and mailbox posts per second per socket. Relays are for audits and
 * agreement updates when no data channel can be opened — a few per partner per day — and each
 * may be 16 KiB, so this bucket is much smaller than the general one.
 */
export const RATE_RELAYS_PER_S = 5;

/** Burst allowance for {@link RATE_RELAYS_PER_S}: a service worker flushing queued audits. */
export const RATE_RELAYS_BURST = 20;

/**
 * A socket that keeps sending after being rate-limited is closed (1008) once it has had this
 * many messages dropped within {@link RATE_DROP_WINDOW_MS}: dropping is cheap, but not free.
 */
export const RATE_DROPS_BEFORE_CLOSE = 1_000;

/** Window over which {@link RATE_DROPS_BEFORE_CLOSE} is counted. */
export const RATE_DROP_WINDOW_MS = 10_000;

/** A rate-limited socket is told so at most once per this interval, not once per dropped frame. */
export const RATE_NOTICE_INTERVAL_MS = 1_000;

/**
 * Most ids one socket may subscribe to. Partners are a handful; an open-pool search may watch a
 * few hundred candidates. Bounds the memory one socket can pin in the presence index.
 */
export const MAX_SUBSCRIPTIONS_PER_SOCKET = 1_024;

/** Most open invite mailboxes per identity: invites are made by hand, one at a time. */
export const MAX_MAILBOXES_PER_ID = 32;

/**
 * Most open invite mailboxes in the whole server. An unread mailbox holds at most one 16 KiB
 * message, so this bounds mailbox memory to ~160 MB in the worst case (and far less in practice).
 */
export const MAX_MAILBOXES = 10_000;

/** Default (and maximum) invite lifetime: 72 hours, as the brief says. */
export const MAILBOX_TTL_S = 72 * 3600;

/** Shortest invite lifetime a client may ask for; anything shorter is raised to this. */
export const MAILBOX_MIN_TTL_S = 60;

/** How often expired mailboxes are purged (they are also refused on access as soon as they expire). */
export const MAILBOX_SWEEP_INTERVAL_MS = 60_000;

/**
 * A recipient whose socket has more than this many bytes queued is not keeping up: messages to it
 * are dropped (and the sender told `recipient-busy`) instead of growing server memory.
 */
export const SEND_BUFFER_LIMIT_BYTES = 1024 * 1024;

/**
 * Default cap on simultaneous sockets from one IP address. A household behind one NAT runs a few
 * devices, each with a page and a service worker; 32 leaves room while stopping one host from
 * exhausting the server.
 */
export const MAX_CONNECTIONS_PER_IP = 32;

/** Default lifetime of TURN credentials handed out by `/config` and `welcome` (coturn's usual day). */
export const TURN_TTL_S = 86_400;

/** The open pool reports uptime over this window: 7 days, as the brief says. */
export const UPTIME_WINDOW_MS = 7 * 24 * 3600 * 1000;

/**
 * Closed online intervals kept per identity. A page that reconnects a few times a day needs
 * ~20 for a week; beyond 64 the oldest are dropped and the observed window starts after them
 * (see pool.ts), so a flapping identity costs at most ~1 KiB.
 */
export const UPTIME_MAX_INTERVALS_PER_ID = 64;

/**
 * Identities whose uptime is tracked (online ones always are). 100,000 × ~1 KiB worst case; the
 * least recently seen offline identities are forgotten first, and any not seen for 7 days are
 * dropped by the sweep.
 */
export const UPTIME_MAX_IDS = 100_000;

/** How often uptime history older than the window is pruned. */
export const UPTIME_SWEEP_INTERVAL_MS = 10 * 60_000;
