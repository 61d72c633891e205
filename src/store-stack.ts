/**
 * The store as the engine sees it: the driver for the `store` option, behind deadlines and a circuit
 * breaker (stores/guard.ts) unless it is the memory driver, which answers synchronously and never fails;
 * the namespacing of entry keys; and the wording of store failures.
 */
import { IsrCacheError, describeError } from './errors.js'
import type { Driver } from './stores/driver.js'
import { GuardedDriver } from './stores/guard.js'
import type { MemoryDriver } from './stores/memory.js'
import { resolveStore, type StoreOption } from './stores/resolve.js'
import type { Settings } from './settings.js'
import type { Telemetry } from './telemetry.js'

/** A call the circuit breaker skipped: reported once when the circuit opened, not per call. */
export function isSkipped(error: unknown): boolean {
  return error instanceof IsrCacheError && error.code === 'E_STORE_UNAVAILABLE'
}

export class StoreStack {
  /** The driver itself, unguarded: for clean-ups that must run even past an open circuit. */
  readonly resolved: Driver
  /** Every engine call goes through this one: the guarded driver, or the memory driver as is. */
  readonly driver: Driver
  /**
   * The memory driver, when it is the store: its synchronous reads keep an in-memory hit to a map lookup,
   * and it needs no deadline, breaker, L1 tier, lease or feed.
   */
  readonly memory: MemoryDriver | undefined
  /** The deadline and breaker wrapper, absent for the memory store; its `failing` spares a second failing call. */
  readonly guarded: GuardedDriver | undefined
  /** `<namespace>:`, the start of every entry key of this cache in a shared store. */
  readonly namespacePrefix: string
  /**
   * The store key of a caller's key. The memory store belongs to this cache alone, so its keys need no
   * namespace (and a hit then needs no string building); shared stores' keys carry it.
   */
  readonly storeKey: (key: string) => string

  constructor(store: StoreOption | undefined, settings: Settings, telemetry: Telemetry) {
    const resolved = resolveStore(store, {
      prefix: settings.prefix,
      now: settings.now,
      maxMemoryBytes: settings.maxMemoryBytes,
      onStoreError: (error) =>
        telemetry.report(error instanceof IsrCacheError ? error : new IsrCacheError('E_STORE_READ', `the store reported an error: ${describeError(error)}`, { cause: error })),
    })
    this.resolved = resolved
    this.memory = resolved.name === 'memory' ? (resolved as MemoryDriver) : undefined
    this.guarded = this.memory === undefined ? guard(resolved, settings, telemetry) : undefined
    this.driver = this.guarded ?? resolved
    this.namespacePrefix = `${settings.namespace}:`
    const namespacePrefix = this.namespacePrefix
    this.storeKey = this.memory === undefined ? (key: string): string => namespacePrefix + key : (key: string): string => key
  }

  /** Whether the store's last call failed (or calls are skipped): the caller can spare itself another. */
  get failing(): boolean {
    return this.guarded?.failing === true
  }

  /** Whether the store's last call missed its deadline (slow, not away): see GuardedDriver.slow. */
  get slow(): boolean {
    return this.guarded?.slow === true
  }

  /** A store failure as an IsrCacheError naming what failed, on which store, and why. */
  error(error: unknown, code: 'E_STORE_READ' | 'E_STORE_WRITE', what: string, key?: string): IsrCacheError {
    if (error instanceof IsrCacheError) return error
    return new IsrCacheError(code, `${what} (${this.resolved.name} store): ${describeError(error)}`, { cause: error, key })
  }
}

function guard(resolved: Driver, settings: Settings, telemetry: Telemetry): GuardedDriver {
  return new GuardedDriver(resolved, {
    readTimeoutMs: settings.readTimeoutMs,
    writeTimeoutMs: settings.writeTimeoutMs,
    failureThreshold: settings.breakerFailures,
    cooldownMs: settings.breakerCooldownMs,
    now: settings.now,
    onCircuit: (state, cause) => {
      telemetry.stats.circuit = state
      telemetry.emit({ type: 'circuit', state })
      if (state === 'open') {
        telemetry.report(
          new IsrCacheError(
            'E_STORE_UNAVAILABLE',
            `the ${resolved.name} store failed ${settings.breakerFailures} times in a row: skipping it (reads are misses, pages are still rendered) and probing it every ${settings.breakerCooldownMs / 1000} s`,
            { cause },
          ),
        )
      }
    },
  })
}
