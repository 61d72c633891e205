/**
 * Loopback ports for servers that a test or a benchmark starts and names its port to (`next start -p`,
 * `redis-server --port`). Shared by the example tooling, the benchmarks and the tests.
 */
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/**
 * Where the kernel starts picking ports of its own (Linux): every outgoing connection's local port, and `listen(0)`.
 * A port from `listen(0)` is free the moment it is read, but any connection made before the server binds
 * it may take it as its local port: `EADDRINUSE` at start-up, seen in CI while other suites ran load.
 */
function ephemeralLow() {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    if (Number.isInteger(low) && low > 2048) return low
  } catch {
    // Not Linux: no range to stay out of that we know of.
  }
  return undefined
}

const low = ephemeralLow()
/** The ports handed out come from just below the ephemeral range, where only servers that name a port compete. */
const span = low === undefined ? 0 : Math.min(12_000, low - 1025)
const first = low === undefined ? 0 : low - span
/** Where this process starts walking: spread by pid, so that test files running side by side rarely meet. */
let next = (process.pid * 7919) % Math.max(span, 1)
const handedOut = new Set()

function bindable(port) {
  return new Promise((resolvePromise, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', (error) => (error.code === 'EADDRINUSE' || error.code === 'EACCES' ? resolvePromise(undefined) : reject(error)))
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address()
      server.close(() => resolvePromise(bound))
    })
  })
}

/**
 * A TCP port free on loopback now, for a server started next, never handed out twice by this process. On
 * Linux it lies below the ephemeral range (see above); elsewhere it is one the kernel chose.
 */
export async function freePort() {
  if (span === 0) return bindable(0)
  for (let tries = 0; tries < span; tries += 1) {
    const port = first + next
    next = (next + 1) % span
    if (handedOut.has(port)) continue
    if ((await bindable(port)) === undefined) continue
    handedOut.add(port)
    return port
  }
  throw new Error(`no free loopback port in ${first}-${first + span - 1}`)
}
