/**
 * What differs between the three shapes a Redis deployment takes: one server (standalone), Redis Cluster
 * (node-redis `createCluster`) and Sentinel (node-redis `createSentinel`). The Redis driver asks this file
 * how to tell that the client is connected, where keys go, and how to run the calls that would otherwise
 * touch keys of several slots. Standalone keeps the layout and calls it always had.
 */
import { keyLayout, type KeyLayout } from './driver.js'

export type RedisTopologyKind = 'standalone' | 'cluster' | 'sentinel'

/** A node-redis v5 cluster client (`createCluster`), as far as isr-cache tells one apart. */
export interface RedisClusterLike {
  readonly slots: unknown
  readonly masters: unknown[]
  sSubscribe(channel: string, listener: (message: string) => void): Promise<unknown>
}

/** A node-redis v5 sentinel client (`createSentinel`), as far as isr-cache tells one apart. */
export interface RedisSentinelLike {
  getSentinelNode(): unknown
  sendCommand(isReadonly: boolean | undefined, args: string[], options?: object): Promise<unknown>
}

/** Which shape of deployment a node-redis client talks to (the same tests @keyv/redis makes). */
export function topologyOf(client: unknown): RedisTopologyKind {
  const candidate = client as Partial<RedisClusterLike & RedisSentinelLike> | null
  if (candidate === null || typeof candidate !== 'object') return 'standalone'
  if (typeof candidate.getSentinelNode === 'function') return 'sentinel'
  if (candidate.slots !== undefined && Array.isArray(candidate.masters)) return 'cluster'
  return 'standalone'
}

/**
 * The cluster layout: the standalone one with the part after the type letter in a hash tag
 * (`<prefix>:e:{<namespace>:<key>}`, `<prefix>:l:{<namespace>:<key>}`, `<prefix>:t:{<tag>}`). An entry and its
 * lease hash to the same slot, so they live and fail over together, while entries and tags spread over
 * every slot: a hash tag on the prefix would have put the whole cache on one shard. The change channel
 * `<prefix>:bus` is a shard channel, one for every instance, so a publish reaches them all.
 */
export function clusterKeyLayout(prefix: string): KeyLayout {
  return {
    entry: (key) => `${prefix}:e:{${key}}`,
    tag: (tag) => `${prefix}:t:{${tag}}`,
    lease: (key) => `${prefix}:l:{${key}}`,
    channel: `${prefix}:bus`,
  }
}

/** The key layout for a client: the cluster one on a cluster, the standalone one (unchanged) elsewhere. */
export function layoutFor(kind: RedisTopologyKind, prefix: string): KeyLayout {
  return kind === 'cluster' ? clusterKeyLayout(prefix) : keyLayout(prefix)
}

/** The connection state a node-redis client of any of the three kinds exposes. */
interface ConnectionState {
  isOpen?: boolean
  isReady?: boolean
  masters?: unknown[]
}

/**
 * Whether the client can take commands now. A cluster client has no `isReady`: it is open from the start of
 * its discovery, and ready once discovery has found the masters (a master that fails later fails only the
 * commands sent to it, and the client follows the cluster's MOVED replies to the new one).
 */
export function isReady(kind: RedisTopologyKind, client: ConnectionState): boolean {
  if (kind === 'cluster') return client.isOpen === true && (client.masters?.length ?? 0) > 0
  return client.isReady === true
}

/** The event a client emits when it is connected again ('ready'; a cluster's is 'connect'; none on sentinel). */
export function readyEvent(kind: RedisTopologyKind): string | undefined {
  if (kind === 'cluster') return 'connect'
  if (kind === 'sentinel') return undefined
  return 'ready'
}

/** The subset of a client the bytes view and the multi-key helpers use. */
interface Commands {
  get(key: string): Promise<unknown>
  mGet(keys: string[]): Promise<unknown[]>
}

/**
 * Reads several keys. One `MGET` on one server; on a cluster, one `GET` per key, sent together (node-redis
 * writes the commands for one node in one batch), since an `MGET` across slots is refused.
 */
export function readMany(kind: RedisTopologyKind, client: Commands, keys: string[]): Promise<unknown[]> {
  if (kind !== 'cluster') return client.mGet(keys)
  return Promise.all(keys.map((key) => client.get(key)))
}

const BLOB_STRING = 36 // RESP_TYPES.BLOB_STRING in @redis/client

/** The calls the driver makes on its bytes view: replies of bulk strings as Buffers. */
export interface BytesView {
  get(key: string): Promise<unknown>
  evalSha(sha: string, options: { keys: string[]; arguments: Array<string | Buffer> }): Promise<unknown>
  eval(script: string, options: { keys: string[]; arguments: Array<string | Buffer> }): Promise<unknown>
}

/**
 * The bytes view of a sentinel client. Its `withTypeMapping` (node-redis 5.9 to 5.12 at least) changes the
 * type mapping of the client it was called on rather than of a copy, so every reply of the user's client
 * would turn into Buffers. Each command carries the mapping in its own options instead.
 */
export function sentinelBytesView(sentinel: RedisSentinelLike): BytesView {
  const options = { typeMapping: { [BLOB_STRING]: Buffer } }
  const script = (command: 'EVALSHA' | 'EVAL', body: string, call: { keys: string[]; arguments: Array<string | Buffer> }) =>
    sentinel.sendCommand(false, [command, body, String(call.keys.length), ...call.keys, ...(call.arguments as string[])], options)
  return {
    get: (key) => sentinel.sendCommand(true, ['GET', key], options),
    evalSha: (sha, call) => script('EVALSHA', sha, call),
    eval: (body, call) => script('EVAL', body, call),
  }
}

/** The bytes view of any client: a copy with Buffer replies, except on sentinel (see sentinelBytesView). */
export function bytesView<T>(kind: RedisTopologyKind, client: T & { withTypeMapping(mapping: Record<number, unknown>): T }): T | BytesView {
  if (kind === 'sentinel') return sentinelBytesView(client as unknown as RedisSentinelLike)
  return client.withTypeMapping({ [BLOB_STRING]: Buffer })
}

/** How long a purge on Sentinel waits for a replica to confirm it (WAIT), before it is reported as failed. */
const REPLICA_CONFIRM_MS = 500

/**
 * Waits until a replica holds this connection's writes. Without it, a purge the old master acknowledged
 * while Sentinel was promoting a replica would be lost when the old master rejoins as a replica; with it,
 * such a purge is reported (E_STORE_WRITE, retry it) instead of dropped silently. WAIT runs on the shared
 * command connection (it must follow the write on the same connection; node-redis 5.12's sentinel pool of
 * several connections leaks leases under concurrent calls), so while no replica answers, as in a failover,
 * each purge holds up the commands behind it by up to REPLICA_CONFIRM_MS: reads may miss their deadline
 * then, and fail open.
 */
export async function confirmReplicated(client: { sendCommand(isReadonly: boolean, args: string[]): Promise<unknown> }): Promise<void> {
  const confirmed = Number(await client.sendCommand(false, ['WAIT', '1', String(REPLICA_CONFIRM_MS)]))
  if (confirmed < 1) {
    throw new Error(`no replica confirmed the purge within ${REPLICA_CONFIRM_MS} ms (WAIT 1): it may be lost in a failover; retry it`)
  }
}

/** The internals of a node-redis cluster client that a topology refresh uses (public in its typings). */
interface ClusterInternals {
  _options?: { rootNodes?: unknown[] }
  _slots?: { rediscover?(startWith: { options: unknown }): Promise<void> }
}

/** When each cluster client last refreshed its view of the cluster, to refresh at most once a second. */
const lastRefresh = new WeakMap<object, number>()

/** Whether an error is a reply from a server (the cluster is reachable), not a lost or refused connection. */
function isServerReply(error: unknown): boolean {
  const name = (error as { constructor?: { name?: string } } | null)?.constructor?.name
  return name === 'ErrorReply' || name === 'SimpleError' || name === 'BlobError'
}

/**
 * After a command met a dead node: asks the cluster which master serves each slot now. node-redis follows a
 * MOVED reply by itself (a graceful `CLUSTER FAILOVER` sends those), but a master that died answers
 * nothing, and the client would keep sending that slot's commands to it after a replica took over.
 */
export function refreshAfterFailure(kind: RedisTopologyKind, client: unknown, error: unknown): void {
  if (kind !== 'cluster' || isServerReply(error)) return
  const cluster = client as ClusterInternals & object
  const now = Date.now()
  if (now - (lastRefresh.get(cluster) ?? 0) < 1000) return
  lastRefresh.set(cluster, now)
  const root = cluster._options?.rootNodes?.[0]
  // Starts from a root node; node-redis falls back to the others when that one does not answer.
  cluster._slots?.rediscover?.({ options: root })?.catch(() => {})
}

/** CRC16-XMODEM, the hash of Redis Cluster's key slots. */
function crc16(bytes: Buffer): number {
  let crc = 0
  for (const byte of bytes) {
    crc ^= byte << 8
    for (let bit = 0; bit < 8; bit += 1) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc
}

/** The cluster slot of a key or shard channel (0-16383): of its hash tag `{…}` where it has a non-empty one. */
export function keySlot(key: string): number {
  const open = key.indexOf('{')
  const close = open === -1 ? -1 : key.indexOf('}', open + 1)
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key
  return crc16(Buffer.from(hashed)) % 16384
}

/**
 * Whether a cluster command failed only because node-redis closed its connection on purpose: after a
 * failover it drops the connection to a node that is no longer a master, and a command still on it fails
 * with DisconnectsClientError without having had an answer. Sent again, it goes to the new master.
 */
export function isDroppedByRefresh(kind: RedisTopologyKind, error: unknown): boolean {
  return kind === 'cluster' && (error as { constructor?: { name?: string } } | null)?.constructor?.name === 'DisconnectsClientError'
}
