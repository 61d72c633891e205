/**
 * Noticing that this process stood still (issue 15): an instance that was frozen (SIGSTOP, a VM pause, a
 * long synchronous task) may not have acknowledged a purge, whose publisher then returned after
 * `purgeAckTimeout` without it. The purge message is waiting in this instance's socket; it must be applied
 * before anything is served from L1 or cached tag records. A cheap unref'd interval timer records when
 * the event loop last ran timers. When that was longer ago than `boundMs` (half of purgeAckTimeout),
 * seen by the timer itself or by a lookup, lookups until the end of the current poll phase wait for a
 * `setImmediate` first: by then this phase has read every socket that was readable, the feed's included,
 * and applied what was waiting. Nothing is dropped, so a busy loop that only looks stalled costs a little
 * latency, never the L1. Why half is enough: docs/concepts/tiers-and-bus.md, "The guarantee".
 */
export class StallGuard {
  /**
   * Date.now() when timers last ran, or when a stall was last noticed. Lookups only read it: were they to
   * move it, a loop busy serving lookups (and nothing else) would never look stalled. The wall clock, not
   * a monotonic one, because a lookup has read it already (a clock read costs as much as an L1 hit's whole
   * bookkeeping): a step forward costs one needless wait; a step back blinds the guard for one tick.
   */
  #lastTick = Date.now()
  /** While a stall is being caught up with: resolves in the check phase, after the feed's socket was read. */
  #catchingUp: Promise<void> | undefined
  readonly #boundMs: number
  readonly #timer: NodeJS.Timeout

  constructor(boundMs: number) {
    this.#boundMs = boundMs
    // Several ticks per bound, so that a loop that merely runs late now and then does not look stalled.
    this.#timer = setInterval(() => this.#tick(), Math.max(1, boundMs / 4))
    this.#timer.unref()
  }

  /**
   * Before serving from what this instance holds, at `now` (Date.now()): undefined if that is safe now,
   * else a promise to wait for first (timers have not run for longer than the bound).
   */
  check(now: number): Promise<void> | undefined {
    if (this.#catchingUp !== undefined) return this.#catchingUp
    return now - this.#lastTick > this.#boundMs ? this.#stalled(now) : undefined
  }

  /** The timer: late by more than the bound means stalled (timers may run before the waiting message). */
  #tick(): void {
    const now = Date.now()
    if (now - this.#lastTick > this.#boundMs) void this.#stalled(now)
    else this.#lastTick = now
  }

  #stalled(now: number): Promise<void> {
    this.#lastTick = now
    this.#catchingUp ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        this.#catchingUp = undefined
        resolve()
      }),
    )
    return this.#catchingUp
  }

  close(): void {
    clearInterval(this.#timer)
  }
}
