/** Turns the `store` option (a URL, a Keyv, a keyv store, a Map, or nothing) into a driver. */
import { mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, resolve as resolvePath } from 'node:path'
import { Keyv } from 'keyv'
import { IsrCacheError, describeError } from '../errors.js'
import { keyLayout, type Driver } from './driver.js'
import { restoreFastStringPrototype } from './fast-strings.js'
import { KeyvDriver } from './keyv.js'
import { MemoryDriver } from './memory.js'
import { isKeyvRedis, RedisDriver } from './redis.js'
import { layoutFor, topologyOf } from './redis-topology.js'
import { clusterOptions, isTopologyScheme, sentinelOptions, type TopologyScheme } from './redis-urls.js'
import { isKeyvSqlite, SqliteDriver } from './sqlite.js'

/**
 * Where entries live: a URL (`'memory://'`, `'redis://…'`, `'rediss://…'`, `'redis+cluster://h:p,h:p'`,
 * `'redis+sentinel://h:p,h:p/mymaster'`, `'sqlite://path/to/file.sqlite'`), a node-redis client
 * (`createClient(…)`, e.g. with TLS options, `createCluster(…)` or `createSentinel(…)`), a `Keyv`
 * instance, any keyv storage adapter (including one you write), or a `Map`.
 */
export type StoreOption =
  | string
  | Keyv
  | KeyvStoreLike
  | Map<unknown, unknown>
  | RedisClientOption
  | RedisClusterOption
  | RedisSentinelOption

/** A node-redis v5 client made with `createClient` from `redis` or `@redis/client`. */
export interface RedisClientOption {
  withTypeMapping(mapping: Record<number, unknown>): unknown
  sendCommand(...args: never[]): unknown
  connect(): unknown
  duplicate(...args: never[]): unknown
}

/** A node-redis v5 Redis Cluster client made with `createCluster` from `redis` or `@redis/client`. */
export interface RedisClusterOption {
  withTypeMapping(mapping: Record<number, unknown>): unknown
  sSubscribe(...args: never[]): unknown
  connect(): unknown
  readonly slots: unknown
  readonly masters: unknown
}

/** A node-redis v5 Sentinel client made with `createSentinel` from `redis` or `@redis/client`. */
export interface RedisSentinelOption {
  withTypeMapping(mapping: Record<number, unknown>): unknown
  getSentinelNode(): unknown
  connect(): unknown
}

/**
 * The keyv storage adapter contract (`get`, `set`, `delete`, `clear`), as keyv checks it. Structural, like
 * keyv's own `KeyvStoreAdapter`, so an instance of your own store class fits as it is; the optional members
 * are used where present.
 */
export interface KeyvStoreLike {
  /** The stored value, or undefined (sync or async). */
  get(key: string): unknown
  /** Stores a value, to expire after `ttl` milliseconds when given. */
  set(key: string, value: unknown, ttl?: number): unknown
  delete(key: string): unknown
  clear(): unknown
  /** Set by keyv to the namespace it uses. */
  namespace?: string | undefined
  /** An event emitter's `on`: `'error'` events are reported through `onError`. */
  on?(event: string, listener: (...args: unknown[]) => void): unknown
}

export interface ResolveContext {
  prefix: string
  now: () => number
  maxMemoryBytes: number
  onStoreError: (error: unknown) => void
}

const load = createRequire(import.meta.url)

/**
 * Where else an optional peer may be: next to the server's entry script. A bundler that rewrites
 * `import.meta.url` (Nitro points it at `file:///_entry.js`) leaves this module nowhere on disk, while the
 * packages the app installed or the bundler traced sit beside the entry (`.output/server/node_modules`).
 */
function loadNearEntry(name: string): unknown {
  const entry = process.argv[1]
  if (entry === undefined || entry === '') throw Object.assign(new Error(`Cannot find module '${name}'`), { code: 'MODULE_NOT_FOUND' })
  return createRequire(resolvePath(entry))(name)
}

export function requirePeer<T>(name: string, scheme: string): T {
  try {
    try {
      return load(name) as T
    } catch (error) {
      if ((error as NodeJS.ErrnoException)?.code !== 'MODULE_NOT_FOUND') throw error
      return loadNearEntry(name) as T
    }
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException)?.code === 'MODULE_NOT_FOUND'
    throw new IsrCacheError(
      'E_MISSING_PEER',
      missing
        ? `the store URL "${scheme}://…" needs the package ${name}, which is not installed. Install it with: npm install ${name}`
        : `the package ${name} (for "${scheme}://…" stores) failed to load: ${describeError(error)}`,
      { cause: error },
    )
  }
}

function isKeyv(value: unknown): value is Keyv {
  const candidate = value as Partial<Keyv> | null
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.getRaw === 'function' &&
    typeof candidate.get === 'function' &&
    'store' in candidate &&
    'opts' in candidate
  )
}

function isStoreAdapter(value: unknown): value is KeyvStoreLike {
  const candidate = value as Record<string, unknown> | null
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    ['get', 'set', 'delete', 'clear'].every((method) => typeof candidate[method] === 'function')
  )
}

function listenForErrors(emitter: unknown, onError: (error: unknown) => void): void {
  const on = (emitter as { on?: (event: string, listener: (error: unknown) => void) => void } | null)?.on
  if (typeof on === 'function') on.call(emitter, 'error', onError)
}

function fromAdapter(adapter: unknown, keyv: Keyv | undefined, owned: boolean, context: ResolveContext): Driver {
  const keys = keyLayout(context.prefix)
  if (isKeyvRedis(adapter)) {
    if (owned) listenForErrors(adapter, context.onStoreError)
    // A cluster's keys carry hash tags; one server's and Sentinel's keep the layout they always had.
    return new RedisDriver(adapter, layoutFor(topologyOf(adapter.client), context.prefix), owned)
  }
  if (isKeyvSqlite(adapter)) {
    if (owned) listenForErrors(adapter, context.onStoreError)
    return new SqliteDriver(adapter, keys, owned, context.now)
  }
  return new KeyvDriver(keyv ?? new Keyv({ store: adapter as KeyvStoreLike }), keys, owned, context.onStoreError)
}

/** Reconnection backoff, as @keyv/redis does it: 100 ms doubling to 2 s, with jitter. */
const reconnectStrategy = (attempt: number): number => Math.min(2 ** attempt * 100, 2000) + Math.random() * 100

/** A Redis Cluster or Sentinel store from its URL (see redis-urls.ts), on a client made by @keyv/redis. */
function fromTopologyUrl(url: string, scheme: TopologyScheme, context: ResolveContext): Driver {
  type Factory = (options: object) => unknown
  const redis = requirePeer<{ default: new (connect: unknown, options?: object) => unknown; createCluster: Factory; createSentinel: Factory }>('@keyv/redis', scheme)
  const client = scheme.endsWith('cluster')
    ? redis.createCluster(clusterOptions(url, scheme, reconnectStrategy))
    : redis.createSentinel(sentinelOptions(url, scheme, reconnectStrategy))
  const adapter = new redis.default(client, { throwOnConnectError: false, throwOnErrors: true })
  return fromAdapter(adapter, undefined, true, context)
}

function fromUrl(url: string, context: ResolveContext): Driver {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase()
  if (isTopologyScheme(scheme)) return fromTopologyUrl(url, scheme, context)
  switch (scheme) {
    case 'memory':
      return new MemoryDriver({ maxBytes: context.maxMemoryBytes, now: context.now })
    case 'redis':
    case 'rediss': {
      const redis = requirePeer<{ default: new (connect: object, options?: object) => unknown }>('@keyv/redis', scheme)
      const KeyvRedis = redis.default
      // throwOnConnectError off: a Redis that is down must cost a miss, not an exception at every call.
      // disableOfflineQueue: a command issued while disconnected fails at once instead of waiting in a queue
      // and running when Redis returns, long after its caller gave up (a lease taken then would block the
      // key for a whole lease ttl, a write would land late). Reconnection backoff as @keyv/redis does it.
      const adapter = new KeyvRedis(
        { url, disableOfflineQueue: true, socket: { reconnectStrategy } },
        { throwOnConnectError: false, throwOnErrors: true },
      )
      return fromAdapter(adapter, undefined, true, context)
    }
    case 'sqlite': {
      const sqlite = requirePeer<{ default: new (options: object) => unknown }>('@keyv/sqlite', scheme)
      const KeyvSqlite = sqlite.default
      const file = url.slice('sqlite://'.length)
      if (file === '') {
        throw new IsrCacheError('E_INVALID_OPTION', 'store "sqlite://" names no file; use e.g. "sqlite://.isr-cache/cache.sqlite" or "sqlite://:memory:"')
      }
      const path = file === ':memory:' ? file : resolvePath(file)
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
      const adapter = new KeyvSqlite({ uri: `sqlite://${path}`, busyTimeout: 5000 })
      return fromAdapter(adapter, undefined, true, context)
    }
    default:
      throw new IsrCacheError(
        'E_INVALID_OPTION',
        `store ${JSON.stringify(url)} is not a supported URL; use "memory://", "redis://host:6379", "rediss://host:6380", ` +
          '"redis+cluster://host:6379,host:6379", "redis+sentinel://host:26379,host:26379/mymaster", ' +
          '"sqlite://path/to/file.sqlite", or pass a Keyv instance or keyv store',
      )
  }
}

/**
 * A node-redis v5 client, as users create it for TLS options, ACLs or an existing pool: `createClient`,
 * `createCluster` or `createSentinel` (which has no `duplicate`).
 */
function isNodeRedisClient(value: unknown): boolean {
  const candidate = value as Record<string, unknown> | null
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.withTypeMapping === 'function' &&
    typeof candidate.sendCommand === 'function' &&
    typeof candidate.connect === 'function' &&
    (typeof candidate.duplicate === 'function' || typeof candidate.getSentinelNode === 'function')
  )
}

export function resolveStore(store: unknown, context: ResolveContext): Driver {
  const driver = resolveDriver(store, context)
  // After the store's packages are loaded (a user's own client was loaded before): see fast-strings.ts.
  restoreFastStringPrototype()
  return driver
}

function resolveDriver(store: unknown, context: ResolveContext): Driver {
  if (store === undefined) return new MemoryDriver({ maxBytes: context.maxMemoryBytes, now: context.now })
  if (typeof store === 'string') return fromUrl(store, context)
  if (isNodeRedisClient(store)) {
    // The user's own client: isr-cache connects it if needed, and leaves it open on close().
    const redis = requirePeer<{ default: new (client: unknown, options?: object) => unknown }>('@keyv/redis', 'redis')
    return fromAdapter(new redis.default(store, { throwOnConnectError: false, throwOnErrors: true }), undefined, false, context)
  }
  if (isKeyv(store)) return fromAdapter(store.store, store, false, context)
  if (store instanceof Map || isStoreAdapter(store)) return fromAdapter(store, undefined, false, context)
  throw new IsrCacheError(
    'E_INVALID_OPTION',
    `store must be a URL string, a node-redis client, a Keyv instance, a keyv store (an object with get, set, delete and clear) or a Map; got ${
      store === null ? 'null' : typeof store
    }`,
  )
}
