/**
 * Fail-open armour around a driver: a deadline on every call, and a circuit breaker that stops calling a
 * store that keeps failing, then lets one call through (half-open) after a cooldown to see if it is back.
 * While the circuit is open, calls fail at once with E_STORE_UNAVAILABLE instead of each waiting out its
 * deadline, so a dead Redis costs nothing per request.
 */
import { IsrCacheError, describeError, type IsrCacheErrorCode } from '../errors.js'
import type { TagRecord } from '../freshness.js'
import type { ChangeFeed, ChangeHandlers, Driver, ReadResult, TouchPolicy, WriteRequest } from './driver.js'

export interface GuardOptions {
  readTimeoutMs: number
  writeTimeoutMs: number
  /** Consecutive failures that open the circuit. */
  failureThreshold: number
  /** How long the circuit stays open before a probe. */
  cooldownMs: number
  now: () => number
  /** Told when the circuit opens (with the last failure) and closes again. */
  onCircuit(state: 'open' | 'closed', cause?: unknown): void
}

/**
 * The deadline a call gets: `read` and `lease` the read deadline (they hold up a request: a slow read is a
 * miss, a slow lease means the page renders here), `write` the write deadline.
 */
type Kind = 'read' | 'lease' | 'write'

interface PendingCall {
  deadline: number
  /** Its deadline's length, given once more after a stall (see #watchDeadlines). */
  readonly ms: number
  /** Whether it had that second deadline already. */
  graced: boolean
  expire(): void
}

const DEADLINE_TICK_MS = 10

/**
 * A deadline tick this much later than due means the event loop stood still (a long synchronous task, a
 * starved or paused process), not that the store was slow: see #watchDeadlines.
 */
const STALL_MS = 50

/** The errors of calls that missed their deadline: the store may still carry them out, later. */
const missedDeadlines = new WeakSet<object>()

/**
 * Whether a guarded call failed by missing its deadline (rather than by the store refusing it): its outcome
 * is unknown, since a busy store, or a starved event loop, may still carry it out.
 */
export function missedDeadline(error: unknown): boolean {
  return typeof error === 'object' && error !== null && missedDeadlines.has(error)
}

export class GuardedDriver implements Driver {
  readonly name: Driver['name']
  readonly capabilities: Driver['capabilities']
  readonly watch?: (instanceId: string, handlers: ChangeHandlers) => ChangeFeed
  /** The driver every call is passed on to. */
  readonly #inner: Driver
  /** Deadlines, breaker thresholds, clock and the circuit listener. */
  readonly #options: GuardOptions
  /** Consecutive failed calls: the circuit opens when this reaches failureThreshold. */
  #failures = 0
  /** Whether the last failure was a missed deadline (see `slow`). */
  #lastMissedDeadline = false
  /** Whether the circuit opened on a missed deadline (see `slow`). */
  #openedWhileSlow = false
  /** While open, when (on the injected clock) the next call may probe the store. */
  #openUntil = 0
  /** Whether the circuit is open: calls fail at once instead of each waiting out a deadline. */
  #open = false
  /** Whether a probe is in flight while open: one probe at a time, the rest still fail fast. */
  #probing = false
  /** Calls in flight with their deadlines, for the shared ticker to expire. */
  readonly #pending = new Set<PendingCall>()
  /** The one deadline ticker, running only while calls are pending. */
  #ticker: NodeJS.Timeout | undefined
  /** When the ticker last ran (performance.now()). */
  #lastTick = 0

  constructor(inner: Driver, options: GuardOptions) {
    this.#inner = inner
    this.#options = options
    this.name = inner.name
    this.capabilities = inner.capabilities
    if (inner.watch) this.watch = inner.watch.bind(inner)
  }

  /** Whether the last call failed (or calls are skipped): a caller can spare itself a second failing call. */
  get failing(): boolean {
    return this.#failures > 0 || this.#open
  }

  /**
   * Whether the store is slow to answer rather than away: the last call missed its deadline, or the circuit
   * opened on such a failure (busy, or this process's event loop starved). What it was asked may still happen,
   * for this instance or for another one.
   */
  get slow(): boolean {
    return this.#open ? this.#openedWhileSlow : this.#lastMissedDeadline
  }

  /** Whether calls are currently skipped. */
  get circuitOpen(): boolean {
    return this.#open
  }

  #call<T>(kind: Kind, what: string, work: () => Promise<T>): Promise<T> {
    const code: IsrCacheErrorCode = kind === 'read' ? 'E_STORE_READ' : 'E_STORE_WRITE'
    if (this.#open) {
      // Open: fail fast, except one probe per cooldown.
      if (this.#probing || this.#options.now() < this.#openUntil) {
        return Promise.reject(
          new IsrCacheError('E_STORE_UNAVAILABLE', `${what} skipped: the ${this.name} store failed ${this.#options.failureThreshold} times in a row and is rested until it answers again`),
        )
      }
      this.#probing = true
    }
    const ms = kind === 'write' ? this.#options.writeTimeoutMs : this.#options.readTimeoutMs
    return new Promise<T>((resolve, reject) => {
      const call: PendingCall = {
        deadline: performance.now() + ms,
        ms,
        graced: false,
        expire: () => {
          const error = new IsrCacheError(code, `${what} missed its ${ms} ms deadline; is the ${this.name} store reachable?`)
          missedDeadlines.add(error)
          fail(error)
        },
      }
      const fail = (error: unknown) => {
        if (!this.#pending.delete(call)) return // already settled (or already timed out)
        this.#probing = false
        this.#failed(error)
        reject(error instanceof IsrCacheError ? error : new IsrCacheError(code, `${what} failed (${this.name} store): ${describeError(error)}`, { cause: error }))
      }
      this.#pending.add(call)
      this.#watchDeadlines()
      let started: Promise<T>
      try {
        started = work()
      } catch (error) {
        fail(error)
        return
      }
      started.then((result) => {
        if (!this.#pending.delete(call)) return
        this.#probing = false
        this.#succeeded()
        resolve(result)
      }, fail)
    })
  }

  /**
   * Deadlines: one shared ticker for all calls in flight instead of a timer per call (a timer per call costs
   * more than the rest of a cache hit's bookkeeping). Precision: DEADLINE_TICK_MS.
   *
   * A deadline bounds the store's time, not this process's. When the ticker runs late by more than STALL_MS,
   * the event loop stood still, and replies that came meanwhile wait unread in their sockets (timers run
   * before the poll phase that reads them), or a command queued just before the stall has only just been
   * sent. A call whose deadline passed during such a stall gets its deadline once more, from now, instead
   * of failing unread. Once only, so that a loop that is late on every tick (overload) still fails a silent
   * store's calls, within twice the deadline plus a stall. Without it, a render that held the loop for
   * longer than readTimeout failed every store call in flight, answered or not: misses, reported errors,
   * and a circuit opened on a healthy store.
   */
  #watchDeadlines(): void {
    if (this.#ticker !== undefined) return
    this.#lastTick = performance.now()
    this.#ticker = setInterval(() => {
      const now = performance.now()
      const stalled = now - this.#lastTick - DEADLINE_TICK_MS > STALL_MS
      this.#lastTick = now
      for (const call of this.#pending) {
        if (now < call.deadline) continue
        if (stalled && !call.graced) {
          call.graced = true
          call.deadline = now + call.ms
        } else {
          call.expire()
        }
      }
      if (this.#pending.size === 0) {
        clearInterval(this.#ticker)
        this.#ticker = undefined
      }
    }, DEADLINE_TICK_MS)
    this.#ticker.unref()
  }

  #succeeded(): void {
    this.#failures = 0
    this.#lastMissedDeadline = false
    if (this.#open) {
      this.#open = false
      this.#options.onCircuit('closed')
    }
  }

  #failed(error: unknown): void {
    this.#failures += 1
    this.#lastMissedDeadline = missedDeadline(error)
    if (this.#open || this.#failures >= this.#options.failureThreshold) {
      const wasOpen = this.#open
      if (!wasOpen) this.#openedWhileSlow = this.#lastMissedDeadline
      this.#open = true
      this.#openUntil = this.#options.now() + this.#options.cooldownMs
      if (!wasOpen) this.#options.onCircuit('open', error)
    }
  }

  read(key: string, touch: TouchPolicy): Promise<ReadResult> {
    return this.#call('read', `reading "${key}"`, () => this.#inner.read(key, touch))
  }

  write(request: WriteRequest): Promise<boolean> {
    return this.#call('write', `writing "${request.key}"`, () => this.#inner.write(request))
  }

  delete(key: string): Promise<void> {
    return this.#call('write', `deleting "${key}"`, () => this.#inner.delete(key))
  }

  readTags(tags: readonly string[]): Promise<Array<TagRecord | undefined>> {
    return this.#call('read', 'reading tag records', () => this.#inner.readTags(tags))
  }

  purgeTags(tags: readonly string[], now: number, expireSeconds: number, maxExpireMs: number): Promise<void> {
    return this.#call('write', `purging ${tags.length} tag(s)`, () => this.#inner.purgeTags(tags, now, expireSeconds, maxExpireMs))
  }

  acquireLease(key: string, token: string, ttlMs: number, now: number): Promise<boolean> {
    return this.#call('lease', `taking the lease of "${key}"`, () => this.#inner.acquireLease(key, token, ttlMs, now))
  }

  extendLease(key: string, token: string, ttlMs: number, now: number): Promise<boolean> {
    return this.#call('write', `extending the lease of "${key}"`, () => this.#inner.extendLease(key, token, ttlMs, now))
  }

  releaseLease(key: string, token: string): Promise<void> {
    return this.#call('write', `releasing the lease of "${key}"`, () => this.#inner.releaseLease(key, token))
  }

  close(): Promise<void> {
    if (this.#ticker !== undefined) clearInterval(this.#ticker)
    this.#ticker = undefined
    return this.#inner.close()
  }
}
