/**
 * Native Redis driver, on the client of a `@keyv/redis` store. Values are raw bytes (no base64); a write
 * that would put an older entry over a newer one is refused inside Redis (a script reads the stored
 * header); a read that is due to slide the 31-day eviction does it in the same round trip; tag purges merge
 * atomically in a script.
 */
import { createHash } from 'node:crypto'
import { describeError } from '../errors.js'
import { decodeTagRecord, MAX_OPEN_WINDOWS, type TagRecord } from '../freshness.js'
import { ackChannel, ackedFeed } from './acked-feed.js'
import type { ChangeFeed, ChangeHandlers, Driver, KeyLayout, ReadResult, TouchPolicy, WriteRequest } from './driver.js'
import { clusterTransport, sentinelTransport, standaloneTransport, type FeedTransport } from './feed-transport.js'
import { bytesView, confirmReplicated, isDroppedByRefresh, isReady, keySlot, readMany, readyEvent, refreshAfterFailure, topologyOf, type RedisTopologyKind } from './redis-topology.js'

// Header offsets (see codec.ts), 1-based for Lua: magic 1-4, lastModified 6-21, expiresAt 22-37.
const WRITE_IF_NOT_OLDER = `
local head = redis.call('GETRANGE', KEYS[1], 0, 20)
if string.len(head) == 21 and string.sub(head, 1, 4) == 'ISR1' then
  local stored = tonumber(string.sub(head, 6, 21))
  if stored and stored > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1`

const READ_AND_TOUCH = `
local value = redis.call('GET', KEYS[1])
if not value then return false end
if string.sub(value, 1, 4) == 'ISR1' then
  local target = tonumber(ARGV[1])
  local hard = tonumber(string.sub(value, 22, 37))
  if hard and hard < target then target = hard end
  -- Times are the caller's clock; Redis gets a relative TTL so that its own clock does not matter.
  local ttl = target - tonumber(ARGV[2])
  if ttl < 1 then ttl = 1 end
  redis.call('PEXPIRE', KEYS[1], string.format('%d', ttl))
end
return value`

// The same merge as applyPurge() in freshness.ts; the property tests check that both agree.
const PURGE_TAGS = `
local now = tonumber(ARGV[1])
local expiredAt = now + tonumber(ARGV[2])
local maxExpire = tonumber(ARGV[3])
local maxWindows = tonumber(ARGV[4])
for _, key in ipairs(KEYS) do
  local before = -1
  local old = {}
  local raw = redis.call('GET', key)
  if raw then
    local ok, rec = pcall(cjson.decode, raw)
    if ok and type(rec) == 'table' and type(rec.b) == 'number' and type(rec.w) == 'table' then
      before = rec.b
      old = rec.w
    end
  end
  local windows = {}
  for _, w in ipairs(old) do
    if w[2] <= now then
      if w[1] > before then before = w[1] end
    elseif w[2] < expiredAt then
      table.insert(windows, { w[1], w[2] })
    end
  end
  if expiredAt <= now then
    if now > before then before = now end
  else
    table.insert(windows, { now, expiredAt })
  end
  while #windows > maxWindows do
    local first = table.remove(windows, 1)
    local second = windows[1]
    windows[1] = { second[1], math.min(first[2], second[2]) }
  end
  local last = before
  for _, w in ipairs(windows) do
    if w[1] > last then last = w[1] end
  end
  local encoded
  if #windows == 0 then
    encoded = '{"b":' .. string.format('%d', before) .. ',"w":[]}'
  else
    encoded = cjson.encode({ b = before, w = windows })
  end
  local ttl = last + maxExpire + 1 - now
  if ttl < 1 then ttl = 1 end
  redis.call('SET', key, encoded, 'PX', string.format('%d', ttl))
end
return #KEYS`

const EXTEND_LEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`

const RELEASE_LEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`

/** The subset of a node-redis v5 client this driver uses. */
export interface RedisClientLike {
  isOpen?: boolean
  get(key: string): Promise<unknown>
  set(key: string, value: string, options: { NX: true; PX: number }): Promise<unknown>
  publish(channel: string, message: string): Promise<unknown>
  mGet(keys: string[]): Promise<unknown[]>
  del(keys: string | string[]): Promise<unknown>
  evalSha(sha: string, options: { keys: string[]; arguments: Array<string | Buffer> }): Promise<unknown>
  eval(script: string, options: { keys: string[]; arguments: Array<string | Buffer> }): Promise<unknown>
  withTypeMapping(mapping: Record<number, unknown>): RedisClientLike
  /** On a sentinel client: `(isReadonly, args)`; used only there. */
  sendCommand(isReadonly: boolean, args: string[]): Promise<unknown>
}

/** A sentinel client's `acquire()`: a master connection for this caller alone, until `release()`. */
interface SentinelLeasing {
  acquire(): Promise<RedisClientLike & { release(): unknown }>
}

/** The subset of a `@keyv/redis` store this driver uses. */
export interface KeyvRedisLike {
  client: unknown
  getClient(): Promise<unknown>
  disconnect(force?: boolean): Promise<void>
}

export function isKeyvRedis(store: unknown): store is KeyvRedisLike {
  const candidate = store as Partial<KeyvRedisLike> | null
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.getClient === 'function' &&
    typeof candidate.disconnect === 'function' &&
    typeof (candidate.client as { withTypeMapping?: unknown } | undefined)?.withTypeMapping === 'function'
  )
}

const shas = new Map<string, string>()
function sha1(script: string): string {
  let sha = shas.get(script)
  if (sha === undefined) {
    sha = createHash('sha1').update(script).digest('hex')
    shas.set(script, sha)
  }
  return sha
}

/** The connection state and events of a node-redis client that this driver reads. */
interface ClientState {
  isOpen?: boolean
  isReady?: boolean
  on?(event: string, listener: (...args: unknown[]) => void): unknown
  ref?(): void
  unref?(): void
}

type Clients = { text: RedisClientLike; bytes: RedisClientLike }

export class RedisDriver implements Driver {
  readonly name = 'redis' as const
  readonly capabilities = { atomicWrites: true, atomicPurges: true, nativeTtl: true, binary: true, durable: true, atomicLeases: true }
  /** The @keyv/redis store whose client this driver uses. */
  readonly #store: KeyvRedisLike
  /** Where entries, tag records, leases and the change channel live under the prefix. */
  readonly #keys: KeyLayout
  /** Whether this driver opened the client (and so closes it), or the user passed it in (left open). */
  readonly #owned: boolean
  /** The connection under way or made, shared by every call: one connect, however many first calls. */
  #connecting: Promise<Clients> | undefined
  /** Why the client is not connected, from the moment a connection attempt failed until it is ready again. */
  #offline: unknown
  /** Told of the next failed connection attempt (a first call waits for the connection, not its deadline). */
  readonly #onConnectFailure = new Set<(error: unknown) => void>()
  /** Commands in flight: a client this driver opened keeps the process alive only while there are some. */
  #busy = 0
  /** One server, a cluster or sentinel: how readiness shows, and how multi-key calls and the feed run. */
  readonly #kind: RedisTopologyKind
  /** When a cluster or sentinel client that failed to connect was last asked to connect again (epoch ms). */
  #lastRetry = 0
  /** On a sentinel client this driver opened: the master connection it leased for its commands. */
  #lease: Promise<RedisClientLike & { release(): unknown }> | undefined

  constructor(store: KeyvRedisLike, keys: KeyLayout, owned: boolean) {
    this.#store = store
    this.#keys = keys
    this.#owned = owned
    this.#kind = topologyOf(store.client)
    const client = this.#client
    const ready = readyEvent(this.#kind)
    if (ready !== undefined) client.on?.(ready, () => {
      this.#offline = undefined
      this.#onConnectFailure.clear() // the calls that waited for this connection got it
      // An idle connection of ours does not hold a script open (a server stays up on its own listener).
      if (owned && this.#busy === 0) client.unref?.()
    })
    client.on?.('error', (error: unknown) => {
      if (isReady(this.#kind, client)) return
      this.#offline = error
      for (const fail of this.#onConnectFailure) fail(error)
      this.#onConnectFailure.clear()
    })
  }

  get #client(): ClientState {
    return this.#store.client as ClientState
  }

  /**
   * The clients, once connected. A client that is not connected fails the call at once (it reconnects in
   * the background): a dead Redis costs nothing per call, instead of a deadline each. Only the first
   * connection is waited for, and only until it succeeds or fails.
   */
  #clients(): Promise<Clients> {
    const client = this.#client
    const ready = isReady(this.#kind, client)
    if (!ready && this.#offline !== undefined && !this.#retryDue()) {
      return Promise.reject(new Error(`not connected to Redis (${describeError(this.#offline)}); reconnecting in the background`, { cause: this.#offline }))
    }
    // A client that failed to connect is closed by @keyv/redis; ask for it again to retry the connection.
    if (client.isOpen === false) this.#connecting = undefined
    const connecting = (this.#connecting ??= this.#connect())
    if (ready) return connecting
    return Promise.race([
      connecting,
      new Promise<never>((_, reject) => {
        this.#onConnectFailure.add((error) => reject(new Error(`could not connect to Redis (${describeError(error)})`, { cause: error })))
      }),
    ])
  }

  /**
   * Whether a cluster or sentinel client that failed to connect may be asked again (once a second). A
   * standalone client reconnects by itself; @keyv/redis closes the other two after a failed first connect.
   */
  #retryDue(): boolean {
    if (this.#kind === 'standalone' || this.#client.isOpen !== false) return false
    const now = Date.now()
    if (now - this.#lastRetry < 1000) return false
    this.#lastRetry = now
    this.#offline = undefined
    return true
  }

  /**
   * Runs commands, keeping a client this driver opened referenced (the process alive) while they run. On a
   * cluster, work that met a connection node-redis dropped after a failover runs once more, unless
   * `retry` is false (taking a lease: if the first SET NX did land, a second would report it lost).
   */
  async #run<T>(work: (clients: Clients) => Promise<T>, retry = true): Promise<T> {
    // Referenced from before connecting: a first call may be what opens the connection.
    if (this.#owned && this.#busy++ === 0) this.#client.ref?.()
    try {
      return await work(await this.#clients())
    } catch (error) {
      refreshAfterFailure(this.#kind, this.#store.client, error)
      // Every other call is idempotent: the same write, purge merge, read, or script keyed by a token.
      if (retry && isDroppedByRefresh(this.#kind, error)) return await work(await this.#clients())
      throw error
    } finally {
      if (this.#owned && --this.#busy === 0) this.#client.unref?.()
    }
  }

  #connect(): Promise<Clients> {
    return this.#store.getClient().then(
      async (client) => {
        const text = await this.#commandClient(client as RedisClientLike & SentinelLeasing)
        return { text, bytes: bytesView(this.#kind, text) as RedisClientLike }
      },
      (error: unknown) => {
        this.#connecting = undefined // try again on the next call
        throw error
      },
    )
  }

  /**
   * The client commands go through. On a sentinel client this driver opened, one connection leased for
   * good: node-redis 5 hands each burst of commands that finds no lease held a lease of its own, so on a
   * client left idle for a moment, 50 concurrent reads ran one round trip after another (and with more
   * than one connection in the pool, leases leaked). A client you pass in is used as it is.
   */
  async #commandClient(client: RedisClientLike & SentinelLeasing): Promise<RedisClientLike> {
    if (this.#kind !== 'sentinel' || !this.#owned) return client
    this.#lease ??= client.acquire().catch((error: unknown) => {
      this.#lease = undefined
      throw error
    })
    return this.#lease
  }

  async #script(client: RedisClientLike, script: string, keys: string[], args: Array<string | Buffer>): Promise<unknown> {
    try {
      return await client.evalSha(sha1(script), { keys, arguments: args })
    } catch (error) {
      if (!String((error as Error)?.message).includes('NOSCRIPT')) throw error
      return client.eval(script, { keys, arguments: args })
    }
  }

  read(key: string, touch: TouchPolicy): Promise<ReadResult> {
    return this.#run(async ({ bytes }) => {
      const storeKey = this.#keys.entry(key)
      const value = touch.due
        ? await this.#script(bytes, READ_AND_TOUCH, [storeKey], [String(touch.until), String(touch.now)])
        : await bytes.get(storeKey)
      if (value === null || value === undefined) return undefined
      return { bytes: value as Buffer }
    })
  }

  write(request: WriteRequest): Promise<boolean> {
    return this.#run(async ({ text }) => {
      const written = await this.#script(
        text,
        WRITE_IF_NOT_OLDER,
        [this.#keys.entry(request.key)],
        [request.bytes, String(request.entry.lastModified), String(Math.max(1, Math.ceil(request.storeExpiresAt - request.now)))],
      )
      return Number(written) === 1
    })
  }

  delete(key: string): Promise<void> {
    return this.#run(async ({ text }) => {
      await text.del(this.#keys.entry(key))
    })
  }

  async readTags(tags: readonly string[]): Promise<Array<TagRecord | undefined>> {
    if (tags.length === 0) return []
    return this.#run(async ({ text }) => {
      const raw = await readMany(this.#kind, text, tags.map((tag) => this.#keys.tag(tag)))
      return raw.map((value) => (typeof value === 'string' ? decodeTagRecord(value) : undefined))
    })
  }

  async purgeTags(tags: readonly string[], now: number, expireSeconds: number, maxExpireMs: number): Promise<void> {
    if (tags.length === 0) return
    const args = [String(now), String(expireSeconds * 1000), String(maxExpireMs), String(MAX_OPEN_WINDOWS)]
    const keys = tags.map((tag) => this.#keys.tag(tag))
    await this.#run(async ({ text }) => {
      // A cluster refuses a script whose keys lie in several slots: one call per tag (each still O(1)).
      if (this.#kind === 'cluster') await Promise.all(keys.map((key) => this.#script(text, PURGE_TAGS, [key], args)))
      else await this.#script(text, PURGE_TAGS, keys, args)
      if (this.#kind === 'sentinel') await confirmReplicated(text)
    })
  }

  acquireLease(key: string, token: string, ttlMs: number): Promise<boolean> {
    return this.#run(async ({ text }) => (await text.set(this.#keys.lease(key), token, { NX: true, PX: Math.max(1, Math.ceil(ttlMs)) })) === 'OK', false)
  }

  extendLease(key: string, token: string, ttlMs: number): Promise<boolean> {
    return this.#run(async ({ text }) => Number(await this.#script(text, EXTEND_LEASE, [this.#keys.lease(key)], [token, String(Math.max(1, Math.ceil(ttlMs)))])) === 1)
  }

  releaseLease(key: string, token: string): Promise<void> {
    return this.#run(async ({ text }) => {
      await this.#script(text, RELEASE_LEASE, [this.#keys.lease(key)], [token])
    })
  }

  /**
   * Pub/sub on `<prefix>:bus` (a second connection on one server, a shard channel on a cluster, the
   * sentinel client's own subscription on Sentinel: see feed-transport.ts), and
   * `<prefix>:bus:ack:<instance id>` for the acknowledgements of this instance's purges and deletes
   * (stores/acked-feed.ts: the publish reply says how many subscriptions to wait for). Messages are at most
   * once: after a reconnect the instance resyncs, and L1 entries are re-checked against the store after a
   * bound anyway, so a lost message costs latency, never lasting staleness.
   */
  watch(instanceId: string, handlers: ChangeHandlers): ChangeFeed {
    const channel = this.#keys.channel
    const transport = this.#transport()
    let connectedBefore = false
    let failedSince = false
    let subscribed = false
    /** Whether the subscription's connection is up, as its events last said (false errs on the safe side). */
    let connected = true
    transport.on('error', (error) => {
      failedSince = true
      connected = false
      handlers.error(error)
    })
    transport.on('ready', () => {
      // node-redis resubscribes by itself after a reconnect; what was published meanwhile is lost.
      if (connectedBefore || failedSince) handlers.resync()
      connectedBefore = true
      failedSince = false
      connected = true
    })
    let closed = false
    const started = Promise.all([
      transport.subscribe(channel, (message) => acked.onChange(message)),
      transport.subscribe(ackChannel(channel, instanceId), (message) => acked.onAck(message)),
    ])
      .then(() => (subscribed = true))
      .catch((error: unknown) => {
        if (!closed) handlers.error(error) // closing while it was connecting is not news
      })
    const acked = ackedFeed(
      instanceId,
      {
        broadcast: (message) => transport.publish(channel, message),
        reply: (to, message) => transport.publish(ackChannel(channel, to), message),
        subscribed: () => subscribed && connected,
        ready: started,
      },
      handlers,
    )
    return {
      publish: (change) => {
        if (!closed) acked.feed.publish(change)
      },
      publishAcknowledged: (change, timeoutMs) => acked.feed.publishAcknowledged!(change, timeoutMs),
      close: async () => {
        closed = true
        await acked.feed.close()
        await transport.close()
      },
    }
  }

  /** The feed's transport for this kind of deployment. */
  #transport(): FeedTransport {
    const client = this.#store.client as never
    const run = <T>(work: () => Promise<T>): Promise<T> => this.#run(() => work())
    if (this.#kind === 'cluster') return clusterTransport(client, run, keySlot)
    if (this.#kind === 'sentinel') {
      // Published through the driver's commands client (its leased connection, on a client it opened).
      return sentinelTransport(client, run, (channel, message) => this.#run(({ text }) => text.publish(channel, message)))
    }
    // It only listens: never the reason a script stays open (a server is kept up by its own listener).
    return standaloneTransport(client, run, this.#owned)
  }

  async close(): Promise<void> {
    if (!this.#owned) return
    const client = this.#client
    await this.#lease?.then((lease) => lease.release()).catch(() => {})
    if (!client.isOpen) return
    // A graceful close waits for replies to commands in flight; with Redis down they never come. Close
    // gracefully only when connected, and never wait more than a second for it.
    if (isReady(this.#kind, client)) {
      const graceful = this.#store.disconnect().then(() => true, () => false)
      const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 1000).unref())
      if (await Promise.race([graceful, timer])) return
    }
    await this.#store.disconnect(true).catch(() => {})
  }
}
