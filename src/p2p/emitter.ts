/**
 * A tiny typed event emitter. Listener exceptions are reported, not propagated, so one faulty
 * subscriber cannot break the protocol code that emitted the event.
 */

/** Unsubscribes a listener. */
export type Unsubscribe = () => void;

/** Emits events whose names and payloads are given by `Events`. */
export class Emitter<Events extends Record<string, unknown>> {
  private readonly listeners = new Map<keyof Events, Set<(value: never) => void>>();

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof Events>(event: K, listener: (value: Events[K]) => void): Unsubscribe {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (value: never) => void);
    return () => set.delete(listener as (value: never) => void);
  }

  /** Calls every listener of `event` with `value`. */
  emit<K extends keyof Events>(event: K, value: Events[K]): void {
    for (const l of [...(this.listeners.get(event) ?? [])]) {
      try {
        (l as (value: Events[K]) => void)(value);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
