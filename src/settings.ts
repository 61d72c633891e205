/**
 * `createIsrCache` options, checked and turned into `Settings`: every duration in milliseconds, every
 * default filled in. Bad configuration throws here, at construction, with a message that names the option
 * and the fix (DESIGN §9); nothing later re-checks an option.
 */
import type { CompressionOptions } from './codec.js'
import { IsrCacheError } from './errors.js'
import type { IsrCacheOptions } from './types.js'
import { checkKnown, checkObject, seconds } from './validate.js'

const DAY = 24 * 60 * 60
const YEAR = 365 * DAY

/** The engine's configuration, as the parts read it. Durations are in ms, unlike the options (seconds). */
export interface Settings {
  /** Namespace of every entry key this cache reads and writes (a build id, typically): rollbacks find theirs warm. */
  namespace: string
  /** Prefix of every key in a shared store, so that several caches (or apps) can share one Redis. */
  prefix: string
  /** The clock, epoch ms: injected by tests and simulations, `Date.now` otherwise. */
  now: () => number
  /** Byte budget of the memory store, or of the L1 tier in front of a shared store. */
  maxMemoryBytes: number
  /** Default seconds until an entry is stale, or false (only a purge makes it stale). Seconds, as stored in entries. */
  revalidate: number | false
  /** Default seconds until an entry can no longer be served. Seconds, as stored in entries. */
  expire: number
  /** Upper bound of any entry's expire, and how long purge records are kept (so no purge is forgotten too soon). */
  maxExpireMs: number
  /** Store time to live after the last read: the 31-day eviction. */
  evictMs: number
  /** A read slides the eviction time at most once per key per this long, so a hot page does not write on every hit. */
  touchIntervalMs: number
  /** Deadline of a store read (and of taking a lease): a slow read is a miss, not a hung page. */
  readTimeoutMs: number
  /** Deadline of a store write; also how long close() waits for regenerations to land. */
  writeTimeoutMs: number
  /** How long tag records read from a shared store are reused before being read again. */
  tagCacheMs: number
  /** Body compression, or false. */
  compression: CompressionOptions | false
  /** Delay before retrying a failed background regeneration, doubled per failure up to backoffMaxMs. */
  backoffInitialMs: number
  backoffMaxMs: number
  /** How long a purge or delete waits for the other instances' acknowledgements (`purgeAckTimeout`). */
  purgeAckTimeoutMs: number
  /** Whether a shared store gets the in-process L1 tier in front of it. */
  l1: boolean
  /** Age after which an L1 entry is re-checked against the store: bounds what a lost feed message costs. */
  l1MaxAgeMs: number
  /** Whether regenerations take a cluster-wide lease first (cache shielding across instances). */
  lease: boolean
  /** Lifetime of a lease unless extended, so a crashed holder blocks nobody for longer. */
  leaseTtlMs: number
  /** How long a caller with nothing to serve waits for another instance's regeneration before rendering itself. */
  leaseWaitMs: number
  /** Consecutive store failures that open the circuit breaker (Infinity: never). */
  breakerFailures: number
  /** How long an open circuit skips the store before one call probes it. */
  breakerCooldownMs: number
}

const OPTION_NAMES = [
  'store', 'namespace', 'prefix', 'revalidate', 'expire', 'maxExpire', 'evictUnaccessedAfter', 'touchInterval',
  'readTimeout', 'writeTimeout', 'tagCacheTtl', 'maxMemoryBytes', 'l1', 'l1MaxAge', 'lease', 'circuitBreaker', 'bus', 'compression',
  'retryBackoff', 'onError', 'onEvent', 'now', 'purgeAckTimeout',
] as const

export function optionError(message: string): IsrCacheError {
  return new IsrCacheError('E_INVALID_OPTION', message)
}

const opt = (name: string, value: unknown, extra?: { positive?: boolean; allowFalse?: boolean }) =>
  seconds('E_INVALID_OPTION', `option ${name}`, value, extra)

/** Checks every option of `createIsrCache` (in a fixed order, so the first mistake is the one reported). */
export function settingsFrom(options: IsrCacheOptions): Settings {
  const given = checkObject(options, 'createIsrCache options', 'E_INVALID_OPTION')
  checkKnown(given, OPTION_NAMES, 'createIsrCache', 'E_INVALID_OPTION')
  const namespace = options.namespace ?? 'default'
  if (typeof namespace !== 'string' || namespace.length === 0 || namespace.length > 256) {
    throw optionError(`option namespace must be a non-empty string of at most 256 characters (e.g. a build id); got ${JSON.stringify(namespace)}`)
  }
  const lifetimes = lifetimesFrom(options)
  const compression = compressionFrom(options.compression ?? false)
  const backoff = checkObject(options.retryBackoff, 'option retryBackoff', 'E_INVALID_OPTION')
  checkKnown(backoff, ['initial', 'max'], 'option retryBackoff', 'E_INVALID_OPTION')
  const backoffInitial = opt('retryBackoff.initial', backoff.initial ?? 1) as number
  const backoffMax = opt('retryBackoff.max', backoff.max ?? 60) as number
  const l1 = options.l1 ?? true
  if (typeof l1 !== 'boolean') throw optionError(`option l1 must be true or false; got ${JSON.stringify(l1)}`)
  // Checked in this order (lease, breaker, then the remaining durations), so the first mistake is reported.
  const leaseOption = options.lease ?? {}
  const lease = leaseOption === false ? {} : checkObject(leaseOption, 'option lease', 'E_INVALID_OPTION')
  checkKnown(lease, ['ttl', 'wait'], 'option lease', 'E_INVALID_OPTION')
  const leaseTtl = opt('lease.ttl', lease.ttl ?? 10, { positive: true }) as number
  const breakerOption = options.circuitBreaker ?? {}
  const breaker = breakerOption === false ? {} : checkObject(breakerOption, 'option circuitBreaker', 'E_INVALID_OPTION')
  checkKnown(breaker, ['failures', 'cooldown'], 'option circuitBreaker', 'E_INVALID_OPTION')
  const breakerFailures = breaker.failures ?? 5
  if (typeof breakerFailures !== 'number' || !Number.isInteger(breakerFailures) || breakerFailures < 1) {
    throw optionError(`option circuitBreaker.failures must be a whole number of at least 1; got ${String(breakerFailures)}`)
  }
  return {
    l1,
    l1MaxAgeMs: (opt('l1MaxAge', options.l1MaxAge ?? 1) as number) * 1000,
    lease: leaseOption !== false,
    leaseTtlMs: leaseTtl * 1000,
    leaseWaitMs: (opt('lease.wait', lease.wait ?? leaseTtl) as number) * 1000,
    breakerFailures: breakerOption === false ? Number.POSITIVE_INFINITY : breakerFailures,
    breakerCooldownMs: (opt('circuitBreaker.cooldown', breaker.cooldown ?? 5, { positive: true }) as number) * 1000,
    namespace,
    ...lifetimes,
    readTimeoutMs: (opt('readTimeout', options.readTimeout ?? 1, { positive: true }) as number) * 1000,
    writeTimeoutMs: (opt('writeTimeout', options.writeTimeout ?? 5, { positive: true }) as number) * 1000,
    tagCacheMs: (opt('tagCacheTtl', options.tagCacheTtl ?? 1) as number) * 1000,
    purgeAckTimeoutMs: purgeAckTimeoutFrom(options.purgeAckTimeout),
    compression,
    backoffInitialMs: backoffInitial * 1000,
    backoffMaxMs: Math.max(backoffMax, backoffInitial) * 1000,
    ...sinksAndStoreFrom(options),
  }
}

/** revalidate, expire, maxExpire, and the eviction and touch intervals, which bound one another. */
function lifetimesFrom(options: IsrCacheOptions) {
  const revalidate = opt('revalidate', options.revalidate ?? false, { allowFalse: true })
  const expire = opt('expire', options.expire ?? YEAR, { positive: true }) as number
  const maxExpire = opt('maxExpire', options.maxExpire ?? Math.max(expire, YEAR), { positive: true }) as number
  if (expire > maxExpire) throw optionError(`option expire (${expire} s) exceeds option maxExpire (${maxExpire} s); raise maxExpire or lower expire`)
  if (revalidate !== false && revalidate > expire) {
    throw optionError(`option revalidate (${revalidate} s) exceeds option expire (${expire} s): entries would expire before turning stale. Lower revalidate or raise expire`)
  }
  const evict = opt('evictUnaccessedAfter', options.evictUnaccessedAfter ?? 31 * DAY, { positive: true }) as number
  const touch = opt('touchInterval', options.touchInterval ?? Math.min(DAY, evict / 4), { positive: true }) as number
  if (touch >= evict) throw optionError(`option touchInterval (${touch} s) must be shorter than evictUnaccessedAfter (${evict} s)`)
  return { revalidate, expire, maxExpireMs: maxExpire * 1000, evictMs: evict * 1000, touchIntervalMs: touch * 1000 }
}

/** Positive, and short: a purge's caller waits this long at most for an instance that does not answer. */
function purgeAckTimeoutFrom(option: unknown): number {
  const value = opt('purgeAckTimeout', option ?? 0.25, { positive: true }) as number
  if (value > 60) throw optionError(`option purgeAckTimeout is in seconds and at most 60 (a purge waits that long for an instance that does not answer); got ${value}`)
  return value * 1000
}

function compressionFrom(option: unknown): CompressionOptions | false {
  if (option === false) return false
  const c = checkObject(option, 'option compression', 'E_INVALID_OPTION')
  checkKnown(c, ['threshold', 'algorithm'], 'option compression', 'E_INVALID_OPTION')
  const threshold = c.threshold ?? 16 * 1024
  if (typeof threshold !== 'number' || !Number.isInteger(threshold) || threshold < 0) {
    throw optionError(`option compression.threshold must be a whole number of bytes; got ${String(threshold)}`)
  }
  const algorithm = c.algorithm ?? 'gzip'
  if (algorithm !== 'gzip' && algorithm !== 'brotli') {
    throw optionError(`option compression.algorithm must be "gzip" or "brotli"; got ${JSON.stringify(algorithm)}`)
  }
  return { threshold, algorithm }
}

/** The clock, the sinks, the bus and the store's own options (checked after the durations, as they always were). */
function sinksAndStoreFrom(options: IsrCacheOptions): Pick<Settings, 'now' | 'prefix' | 'maxMemoryBytes'> {
  const now = options.now ?? Date.now
  if (typeof now !== 'function') throw optionError('option now must be a function returning epoch milliseconds')
  for (const name of ['onError', 'onEvent'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') throw optionError(`option ${name} must be a function`)
  }
  if (options.bus !== undefined && (typeof options.bus?.publish !== 'function' || typeof options.bus?.subscribe !== 'function')) {
    throw optionError('option bus must be an object with publish(message) and subscribe(onMessage, onLost) methods (see IsrCacheBus)')
  }
  const prefix = options.prefix ?? 'isr-cache'
  if (typeof prefix !== 'string' || prefix.length === 0 || prefix.length > 256) {
    throw optionError(`option prefix must be a non-empty string of at most 256 characters; got ${JSON.stringify(prefix)}`)
  }
  const maxMemoryBytes = options.maxMemoryBytes ?? 64 * 1024 * 1024
  if (typeof maxMemoryBytes !== 'number' || !Number.isInteger(maxMemoryBytes) || maxMemoryBytes <= 0) {
    throw optionError(`option maxMemoryBytes must be a positive whole number of bytes; got ${String(maxMemoryBytes)}`)
  }
  return { now, prefix, maxMemoryBytes }
}
