/**
 * How the change feed's messages travel between instances on Redis: the one piece that differs between a
 * single server (PUBLISH / SUBSCRIBE on a second connection), Redis Cluster (SPUBLISH / SSUBSCRIBE on one
 * shard channel) and Sentinel (PUBLISH / SUBSCRIBE through the sentinel client, which follows the master).
 * The feed in redis.ts (wire format, resync, errors) sits on top and does not care which one it has.
 */

/** Moves feed messages; one per driver. Messages are at most once (a reconnect may lose some). */
export interface FeedTransport {
  /** Starts listening on `channel` (one transport may listen on several); resolves once subscribed. */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<void>
  /**
   * Sends a message on `channel`; resolves with how many subscribers received it (Redis's reply to PUBLISH
   * or SPUBLISH: every instance subscribes to the same channel, so this counts instances, this one included).
   */
  publish(channel: string, message: string): Promise<number>
  /** Stops listening. What the transport opened is closed; a client the user passed in is left open. */
  close(): Promise<void>
  /**
   * `ready`: (re)subscribed after a connection was made (messages published meanwhile may be lost).
   * `error`: the subscription's connection failed (it reconnects by itself).
   */
  on(event: 'ready', listener: () => void): void
  on(event: 'error', listener: (error: unknown) => void): void
}

/** Runs a command on the driver's command connection (connected, referenced while it runs). */
export type RunCommand = <T>(work: () => Promise<T>) => Promise<T>

type Listener = (...args: unknown[]) => void

/** A channel a transport listens on, and its listener. */
interface Subscription {
  channel: string
  listener: (message: string) => void
}

/** A standalone node-redis client, as the standalone transport uses it. */
interface StandaloneClient {
  duplicate(): {
    on(event: string, listener: Listener): void
    connect(): Promise<unknown>
    subscribe(channel: string, listener: (message: string) => void): Promise<void>
    destroy?(): void
    disconnect?(): Promise<void>
    unref?(): void
    isOpen: boolean
  }
  publish(channel: string, message: string): Promise<unknown>
}

/**
 * One server: a second connection made with `duplicate()` (a subscribed connection can do nothing else),
 * and PUBLISH on the command connection. `unref`: it only listens, so it never keeps a script alive.
 */
export function standaloneTransport(client: StandaloneClient, run: RunCommand, unref: boolean): FeedTransport {
  const subscriber = client.duplicate()
  if (unref) subscriber.unref?.()
  let connecting: Promise<unknown> | undefined
  return {
    subscribe: async (channel, onMessage) => {
      // One connection for every channel (the change channel, this instance's ack channel).
      await (connecting ??= subscriber.connect())
      await subscriber.subscribe(channel, onMessage)
    },
    publish: async (channel, message) => Number(await run(() => client.publish(channel, message))),
    close: async () => {
      // Destroy rather than quit: it also ends a connection attempt still retrying against a dead server.
      try {
        if (subscriber.destroy) subscriber.destroy()
        else if (subscriber.isOpen) await subscriber.disconnect?.()
      } catch {
        // already closed
      }
    },
    on: (event: string, listener: Listener) => subscriber.on(event, listener),
  }
}

/** A node-redis cluster client, as the cluster transport uses it. */
interface ClusterClient {
  on(event: string, listener: Listener): unknown
  off?(event: string, listener: Listener): unknown
  sSubscribe(channel: string, listener: (message: string) => void): Promise<unknown>
  sUnsubscribe(channel: string, listener: (message: string) => void): Promise<unknown>
  sPublish(channel: string, message: string): Promise<unknown>
  /** Each slot's master node; its `pubSub.client` holds the shard channels subscribed there. */
  readonly slots: Array<{ master?: { pubSub?: { client?: { getPubSubListeners?(type: 'SHARDED'): Map<string, unknown> } } } } | undefined>
}

/** How often the cluster transport checks that its shard channel is still subscribed (a local check). */
const RESUBSCRIBE_CHECK_MS = 1000

/**
 * Redis Cluster: sharded pub/sub (Redis 7+). The channel hashes to one slot, so every instance subscribes
 * to the same shard and SPUBLISH's reply counts them all, as PUBLISH does on one server.
 *
 * When the channel's shard fails over, Redis drops the subscription, and node-redis (5.12) does not always
 * make it again on the new master (we saw no subscriber left after a `CLUSTER FAILOVER` under load). So
 * once a second the transport checks, without a command, that the slot's current master connection holds
 * the channel; if not, it subscribes again and reports `ready` (messages may have been lost: resync).
 * `ready` also fires when a node connection of the cluster is made again.
 */
export function clusterTransport(cluster: ClusterClient, run: RunCommand, slotOf: (channel: string) => number): FeedTransport {
  /** Every channel subscribed (the change channel, this instance's ack channel: each on its own shard). */
  const subscriptions: Subscription[] = []
  let timer: NodeJS.Timeout | undefined
  const resubscribing = new Set<string>()
  const listeners: Array<[string, Listener]> = []
  const emit = (event: string, ...args: unknown[]) => {
    for (const [name, listener] of listeners) if (name === event) listener(...args)
  }
  const held = (channel: string) => cluster.slots[slotOf(channel)]?.master?.pubSub?.client?.getPubSubListeners?.('SHARDED')?.has(channel) === true
  const check = () => {
    for (const { channel, listener } of subscriptions) {
      if (resubscribing.has(channel) || held(channel)) continue
      resubscribing.add(channel)
      run(() => cluster.sSubscribe(channel, listener))
        .then(() => emit('node-ready'), (error: unknown) => emit('node-error', error))
        .finally(() => resubscribing.delete(channel))
    }
  }
  return {
    subscribe: async (channel, onMessage) => {
      subscriptions.push({ channel, listener: onMessage })
      await run(() => cluster.sSubscribe(channel, onMessage))
      if (timer !== undefined) return
      timer = setInterval(check, RESUBSCRIBE_CHECK_MS)
      timer.unref()
    },
    publish: async (channel, message) => Number(await run(() => cluster.sPublish(channel, message))),
    close: async () => {
      clearInterval(timer)
      for (const [event, listener] of listeners) cluster.off?.(event, listener)
      await Promise.all(subscriptions.map(({ channel, listener }) => cluster.sUnsubscribe(channel, listener).catch(() => {})))
    },
    on: (event: string, listener: Listener) => {
      const mapped = event === 'ready' ? 'node-ready' : 'node-error'
      listeners.push([mapped, listener])
      cluster.on(mapped, listener)
    },
  }
}

/** A node-redis sentinel client, as the sentinel transport uses it. */
interface SentinelClient {
  on(event: string, listener: Listener): unknown
  off?(event: string, listener: Listener): unknown
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>
  unsubscribe(channel: string, listener: (message: string) => void): Promise<unknown>
}

/**
 * Sentinel: the sentinel client's own subscription, which it moves to the new master after a failover;
 * `publish` runs PUBLISH on the driver's command connection.
 * `ready` fires on every topology change the sentinels announce (a failover: messages may have been lost).
 */
export function sentinelTransport(sentinel: SentinelClient, run: RunCommand, publish: (channel: string, message: string) => Promise<unknown>): FeedTransport {
  const subscriptions: Subscription[] = []
  const listeners: Array<[string, Listener]> = []
  return {
    subscribe: async (channel, onMessage) => {
      subscriptions.push({ channel, listener: onMessage })
      await run(() => sentinel.subscribe(channel, onMessage))
    },
    publish: async (channel, message) => Number(await publish(channel, message)),
    close: async () => {
      for (const [event, listener] of listeners) sentinel.off?.(event, listener)
      await Promise.all(subscriptions.map(({ channel, listener }) => sentinel.unsubscribe(channel, listener).catch(() => {})))
    },
    on: (event: string, listener: Listener) => {
      const mapped = event === 'ready' ? 'topology-change' : 'error'
      listeners.push([mapped, listener])
      sentinel.on(mapped, listener)
    },
  }
}
