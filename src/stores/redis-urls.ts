/**
 * The URL forms of Redis Cluster and Sentinel stores, turned into node-redis options:
 * - `redis+cluster://[user:password@]host:port,host:port` (`rediss+cluster://` for TLS): some nodes of the
 *   cluster; the client discovers the rest.
 * - `redis+sentinel://[user:password@]host:port,host:port/<master name>` (`rediss+sentinel://`): the
 *   sentinels, and the name of the master they watch. The credentials are the master's and replicas'.
 */
import { IsrCacheError } from '../errors.js'

export type TopologyScheme = 'redis+cluster' | 'rediss+cluster' | 'redis+sentinel' | 'rediss+sentinel'

export function isTopologyScheme(scheme: string | undefined): scheme is TopologyScheme {
  return scheme === 'redis+cluster' || scheme === 'rediss+cluster' || scheme === 'redis+sentinel' || scheme === 'rediss+sentinel'
}

interface HostPort {
  host: string
  port: number
}

interface ParsedTopologyUrl {
  tls: boolean
  username: string | undefined
  password: string | undefined
  nodes: HostPort[]
  /** The path after the hosts, without its slash (the master name on Sentinel). */
  path: string
}

const EXAMPLES = '"redis+cluster://10.0.0.1:6379,10.0.0.2:6379" or "redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster"'

function invalid(url: string, problem: string): IsrCacheError {
  // The URL may hold a password: name the problem, show the URL without its credentials.
  const shown = url.replace(/\/\/[^@/]*@/, '//…@')
  return new IsrCacheError('E_INVALID_OPTION', `store ${JSON.stringify(shown)}: ${problem}; use e.g. ${EXAMPLES}`)
}

function parseNode(url: string, text: string): HostPort {
  // [v6::addr]:port, or host:port (a port is required: cluster nodes and sentinels have no shared default).
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+):(\d{1,5})$/i.exec(text)
  const port = Number(match?.[2])
  if (match === null || !(port >= 1 && port <= 65535)) throw invalid(url, `"${text}" is not host:port`)
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port }
}

function decode(url: string, part: string | undefined): string | undefined {
  if (part === undefined || part === '') return undefined
  try {
    return decodeURIComponent(part)
  } catch {
    throw invalid(url, 'its user name or password is not valid percent-encoding')
  }
}

/** Splits a `redis+cluster://` or `redis+sentinel://` URL; throws E_INVALID_OPTION naming what is wrong. */
export function parseTopologyUrl(url: string, scheme: TopologyScheme): ParsedTopologyUrl {
  const rest = url.slice(url.indexOf('://') + 3)
  const at = rest.lastIndexOf('@', rest.indexOf('/') === -1 ? rest.length : rest.indexOf('/'))
  const auth = at === -1 ? '' : rest.slice(0, at)
  const afterAuth = at === -1 ? rest : rest.slice(at + 1)
  const slash = afterAuth.indexOf('/')
  const hosts = slash === -1 ? afterAuth : afterAuth.slice(0, slash)
  const path = slash === -1 ? '' : afterAuth.slice(slash + 1)
  if (hosts.includes('?')) throw invalid(url, 'query parameters are not supported; pass a client for more options')
  if (hosts === '') throw invalid(url, 'it names no host')
  const colon = auth.indexOf(':')
  return {
    tls: scheme.startsWith('rediss'),
    username: decode(url, colon === -1 ? auth : auth.slice(0, colon)),
    password: decode(url, colon === -1 ? undefined : auth.slice(colon + 1)),
    nodes: hosts.split(',').map((node) => parseNode(url, node.trim())),
    path,
  }
}

/** Options for every connection a client makes: credentials, TLS, no offline queue, reconnection backoff. */
function nodeDefaults(parsed: ParsedTopologyUrl, reconnectStrategy: (attempt: number) => number): Record<string, unknown> {
  return {
    ...(parsed.username === undefined ? {} : { username: parsed.username }),
    ...(parsed.password === undefined ? {} : { password: parsed.password }),
    disableOfflineQueue: true,
    socket: { reconnectStrategy, ...(parsed.tls ? { tls: true } : {}) },
  }
}

/** `createCluster` options for a `redis+cluster://` URL. */
export function clusterOptions(url: string, scheme: TopologyScheme, reconnectStrategy: (attempt: number) => number): object {
  const parsed = parseTopologyUrl(url, scheme)
  if (parsed.path !== '') throw invalid(url, `a cluster URL has no path (got "/${parsed.path}"): Redis Cluster has only database 0`)
  const defaults = nodeDefaults(parsed, reconnectStrategy)
  return { rootNodes: parsed.nodes.map(({ host, port }) => ({ socket: { host, port } })), defaults }
}

/** `createSentinel` options for a `redis+sentinel://` URL. */
export function sentinelOptions(url: string, scheme: TopologyScheme, reconnectStrategy: (attempt: number) => number): object {
  const parsed = parseTopologyUrl(url, scheme)
  const raw = parsed.path.replace(/\/$/, '')
  // One path segment (a "/" inside a name is written %2F).
  const name = raw.includes('/') ? undefined : decode(url, raw)
  if (name === undefined) throw invalid(url, 'it must end with the master name the sentinels watch ("/mymaster")')
  // The sentinel client retries a command that met a lost connection on the master it finds next.
  const node = nodeDefaults(parsed, reconnectStrategy)
  return {
    name,
    sentinelRootNodes: parsed.nodes,
    nodeClientOptions: node,
    sentinelClientOptions: { socket: { reconnectStrategy, ...(parsed.tls ? { tls: true } : {}) } },
  }
}
