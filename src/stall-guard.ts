/**
 * Noticing that this process stood still (issue 15): an instance that was frozen (SIGSTOP, a VM pause, a
 * very long synchronous task) may have missed acknowledging a purge, whose publisher then returned after
 * `purgeAckTimeout` without it. Such an instance must not serve from its L1 or cached tag records when it
 * resumes, before it has read the purge message that waits in its socket. A cheap unref'd interval timer
 * records when the event loop last ran timers; the timer itself, and every lookup that would serve from
 * what this instance holds, resync first if that was longer ago than `boundMs` (half of purgeAckTimeout).
 * Why both checks, and why half is enough: docs/concepts/tiers-and-bus.md, "The guarantee".
 */
export class StallGuard {
  /**
   * performance.now() when timers last ran, or when a stall was last handled. Lookups only read it: were
   * they to move it, a loop busy serving lookups (and nothing else) would never look stalled.
   */
  #lastTick = performance.now()
  readonly #boundMs: number
  readonly #onStall: () => void
  readonly #timer: NodeJS.Timeout

  constructor(boundMs: number, onStall: () => void) {
    this.#boundMs = boundMs
    this.#onStall = onStall
    // Several ticks per bound, so that a loop that merely runs late now and then does not look stalled.
    this.#timer = setInterval(() => this.#tick(), Math.max(1, boundMs / 4))
    this.#timer.unref()
  }

  /** Before serving from what this instance holds: resyncs if timers have not run for longer than the bound. */
  check(): void {
    const now = performance.now()
    if (now - this.#lastTick > this.#boundMs) this.#stalled(now)
  }

  /** The timer: resyncs if it runs late by more than the bound (timers may run before the missed message). */
  #tick(): void {
    const now = performance.now()
    if (now - this.#lastTick > this.#boundMs) this.#stalled(now)
    else this.#lastTick = now
  }

  /**
   * Everything cached from before now is dropped; what is read from the store from now on postdates any
   * purge whose message is still waiting, so one resync per stall is enough.
   */
  #stalled(now: number): void {
    this.#lastTick = now
    this.#onStall()
  }

  close(): void {
    clearInterval(this.#timer)
  }
}
