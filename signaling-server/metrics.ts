/**
 * Counters and gauges exposed on `/metrics` in the Prometheus text format (version 0.0.4).
 * Label values come from fixed sets (message types, error codes, drop reasons), never from
 * client input, so a client cannot grow the label space.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Why a message was dropped instead of delivered. */
export type DropReason = 'rate-limited' | 'recipient-busy' | 'unreachable';

/** Live numbers of the server. */
export class Metrics {
  /** Messages accepted, by client message type. */
  readonly messages = new Map<string, number>();
  /** Messages dropped, by reason. */
  readonly drops = new Map<DropReason, number>();
  /** Errors sent to clients, by error code. */
  readonly errors = new Map<string, number>();
  /** Socket closes initiated by the server, by close code. */
  readonly closes = new Map<number, number>();
  /** Upgrades refused before a socket existed, by reason. */
  readonly refused = new Map<string, number>();
  /** Messages delivered to a recipient (signals, relays, presence, mailbox deliveries). */
  delivered = 0;
  /** Event-loop delay: every message waits for the loop, so this is the server's own latency. */
  private readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 5 });

  constructor() {
    this.loopDelay.enable();
  }

  /** Stops sampling (the histogram's timer would otherwise outlive the server). */
  stop(): void {
    this.loopDelay.disable();
  }

  /** Adds one to `key` in `map`. */
  static inc<K>(map: Map<K, number>, key: K, by = 1): void {
    map.set(key, (map.get(key) ?? 0) + by);
  }

  /**
   * Renders every metric. `gauges` are sampled by the caller at scrape time (socket counts,
   * mailboxes); process memory is added here.
   */
  render(gauges: { sockets: number; authenticated: number; mailboxes: number; identities: number; poolListings?: number }): string {
    const lines: string[] = [];
    const gauge = (name: string, help: string, samples: [string, number][]): void => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
      for (const [labels, v] of samples) lines.push(`${name}${labels} ${v}`);
    };
    const counter = <K>(name: string, help: string, label: string, map: Map<K, number>): void => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
      for (const [k, v] of [...map].sort((a, b) => String(a[0]).localeCompare(String(b[0])))) {
        lines.push(`${name}{${label}="${String(k)}"} ${v}`);
      }
    };
    gauge('backpact_sockets', 'Open signaling sockets by state.', [
      ['{state="authenticated"}', gauges.authenticated],
      ['{state="unauthenticated"}', gauges.sockets - gauges.authenticated],
    ]);
    gauge('backpact_identities_online', 'Distinct identities with at least one authenticated socket.', [['', gauges.identities]]);
    gauge('backpact_mailboxes', 'Open invite mailboxes.', [['', gauges.mailboxes]]);
    gauge('backpact_pool_listings', 'Identities listed in the open pool.', [['', gauges.poolListings ?? 0]]);
    counter('backpact_messages_total', 'Client messages accepted, by type.', 'type', this.messages);
    lines.push('# HELP backpact_delivered_total Messages delivered to recipients.', '# TYPE backpact_delivered_total counter', `backpact_delivered_total ${this.delivered}`);
    counter('backpact_drops_total', 'Messages dropped, by reason.', 'reason', this.drops);
    counter('backpact_errors_total', 'Error replies sent, by code.', 'code', this.errors);
    counter('backpact_closes_total', 'Sockets closed by the server, by close code.', 'code', this.closes);
    counter('backpact_refused_total', 'WebSocket upgrades refused, by reason.', 'reason', this.refused);
    // Since the previous scrape, so each scrape describes its own interval.
    gauge('nodejs_eventloop_delay_seconds', 'Event-loop delay since the previous scrape, by quantile.', [
      ['{quantile="0.5"}', this.loopDelay.percentile(50) / 1e9],
      ['{quantile="0.99"}', this.loopDelay.percentile(99) / 1e9],
      ['{quantile="1"}', this.loopDelay.max / 1e9],
    ]);
    this.loopDelay.reset();
    const mem = process.memoryUsage();
    gauge('process_resident_memory_bytes', 'Resident set size.', [['', mem.rss]]);
    gauge('nodejs_heap_used_bytes', 'V8 heap in use.', [['', mem.heapUsed]]);
    return `${lines.join('\n')}\n`;
  }
}
