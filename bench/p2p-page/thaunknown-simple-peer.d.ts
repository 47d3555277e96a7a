/** Minimal typing of `@thaunknown/simple-peer` (the package ships none), for the benchmark page only. */
declare module '@thaunknown/simple-peer' {
  interface PeerOptions {
    initiator?: boolean;
    trickle?: boolean;
    config?: RTCConfiguration;
  }
  export default class Peer {
    constructor(opts?: PeerOptions);
    /** Bytes queued in the data channel. */
    readonly bufferSize: number;
    signal(data: unknown): void;
    send(data: Uint8Array | string): void;
    /** Stream write; false means "wait for drain" (the library's back-pressure). */
    write(chunk: Uint8Array): boolean;
    on(event: 'signal', cb: (data: unknown) => void): this;
    on(event: 'connect' | 'drain' | 'close', cb: () => void): this;
    on(event: 'data', cb: (data: Uint8Array) => void): this;
    on(event: 'error', cb: (err: Error) => void): this;
    once(event: 'drain' | 'connect', cb: () => void): this;
    destroy(): void;
  }
}
