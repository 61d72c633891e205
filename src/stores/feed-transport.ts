/**
 * How the change feed's messages travel between instances on Redis: the one piece that differs between a
 * single server (PUBLISH / SUBSCRIBE on a second connection), Redis Cluster (SPUBLISH / SSUBSCRIBE on one
 * shard channel) and Sentinel (PUBLISH / SUBSCRIBE through the sentinel client, which follows the master).
 * The feed in redis.ts (wire format, resync, errors) sits on top and does not care which one it has.
 */

/** Moves feed messages; one per driver. Messages are at most once (a reconnect may lose some). */
export interface FeedTransport {
  /** Starts listening on `channel`; resolves once subscribed. */
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
  return {
    subscribe: async (channel, onMessage) => {
      await subscriber.connect()
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
}

/**
 * Redis Cluster: sharded pub/sub (Redis 7+). The channel hashes to one slot, so every instance subscribes
 * to the same shard and SPUBLISH's reply counts them all, as PUBLISH does on one server. The cluster client
 * keeps its own connection for it and moves the subscription when the slot moves (a failover).
 * `ready` fires whenever a node connection of the cluster is made again: more often than strictly needed,
 * but a resync only costs re-reads.
 */
export function clusterTransport(cluster: ClusterClient, run: RunCommand): FeedTransport {
  let subscribed: { channel: string; listener: (message: string) => void } | undefined
  const listeners: Array<[string, Listener]> = []
  return {
    subscribe: async (channel, onMessage) => {
      subscribed = { channel, listener: onMessage }
      await run(() => cluster.sSubscribe(channel, onMessage))
    },
    publish: async (channel, message) => Number(await run(() => cluster.sPublish(channel, message))),
    close: async () => {
      for (const [event, listener] of listeners) cluster.off?.(event, listener)
      if (subscribed !== undefined) await cluster.sUnsubscribe(subscribed.channel, subscribed.listener).catch(() => {})
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
  publish(channel: string, message: string): Promise<unknown>
}

/**
 * Sentinel: the sentinel client's own subscription, which it moves to the new master after a failover.
 * `ready` fires on every topology change the sentinels announce (a failover: messages may have been lost).
 */
export function sentinelTransport(sentinel: SentinelClient, run: RunCommand): FeedTransport {
  let subscribed: { channel: string; listener: (message: string) => void } | undefined
  const listeners: Array<[string, Listener]> = []
  return {
    subscribe: async (channel, onMessage) => {
      subscribed = { channel, listener: onMessage }
      await run(() => sentinel.subscribe(channel, onMessage))
    },
    publish: async (channel, message) => Number(await run(() => sentinel.publish(channel, message))),
    close: async () => {
      for (const [event, listener] of listeners) sentinel.off?.(event, listener)
      if (subscribed !== undefined) await sentinel.unsubscribe(subscribed.channel, subscribed.listener).catch(() => {})
    },
    on: (event: string, listener: Listener) => {
      const mapped = event === 'ready' ? 'topology-change' : 'error'
      listeners.push([mapped, listener])
      sentinel.on(mapped, listener)
    },
  }
}
