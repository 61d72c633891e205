/**
 * A PRIVATE redis-server for fault tests: its own process on a free loopback port, no persistence, which a
 * test may stop, kill and start again on the same port. The shared server (REDIS_URL) is never touched.
 *
 * Where no `redis-server` binary is on PATH, fault suites are skipped with a loud message, except under
 * CI=true, where that is a failure (the same rule as test/support/redis.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../examples/next/tooling/free-port.mjs'

function findRedisServer(): string | undefined {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  if (found.error !== undefined || found.status !== 0) return undefined
  return found.stdout.trim()
}

const version = findRedisServer()
if (version === undefined) {
  const message =
    '\n\n!!! No `redis-server` binary on PATH: the fault-injection suites (private Redis server) are SKIPPED.\n' +
    '!!! Install one, e.g.: apt-get install redis-server\n\n'
  if (process.env.CI === 'true') throw new Error(`redis-server is required under CI=true. ${message}`)
  console.warn(message)
}

/** True where a `redis-server` binary can be started; use with describe.runIf(redisServerAvailable). */
export const redisServerAvailable = version !== undefined
export const redisServerVersion = version

export { freePort }

/** Resolves true if something on the port answers PING with +PONG within `ms` (false: refused, or too slow). */
export function pingOnce(port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    let reply = ''
    const done = (ok: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => done(false), ms)
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (data) => {
      reply += data.toString('latin1')
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
  })
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Every server started by this process, for the exit hook. */
const live = new Set<ChildProcess>()
let hooked = false
function hookExit(): void {
  if (hooked) return
  hooked = true
  // Last resort (a crashed test file): never leave a redis-server behind.
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL')
  })
}

export interface PrivateRedis {
  readonly port: number
  /** redis://127.0.0.1:<port> */
  readonly url: string
  /** rediss://127.0.0.1:<tls port>, where the server was started with `tls`. */
  readonly tlsUrl: string | undefined
  /** Whether the server process is running. */
  readonly running: boolean
  /** Starts the server (again) on the same port and waits until it answers PING. */
  start(): Promise<void>
  /** SIGTERM, and waits for the process to exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>
  /** SIGKILL, and waits for the process to exit. */
  kill(): Promise<void>
  /** Stops it for good and removes its working directory. Idempotent. */
  close(): Promise<void>
  /** What the server printed (for failure messages). */
  log(): string
}

export interface PrivateRedisOptions {
  /** Extra command-line arguments, e.g. ['--enable-debug-command', 'yes']. */
  args?: string[]
  /** Start it at once (default true). */
  start?: boolean
  /**
   * Also listen with TLS on a second free port (`tlsUrl`), with this certificate and key (PEM files).
   * Clients are not asked for certificates. The plain port stays open: the readiness check uses it.
   */
  tls?: { certFile: string; keyFile: string }
  /** A config file to start from (put first on the command line; Sentinel needs one it may rewrite). */
  configFile?: string
}

/** Starts a private redis-server on a free loopback port. Always `close()` it (afterAll). */
export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  if (!redisServerAvailable) throw new Error('no redis-server binary on PATH')
  hookExit()
  const port = await freePort()
  const tlsPort = options.tls === undefined ? undefined : await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'isr-cache-redis-'))
  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  let output = ''
  let closed = false

  const args = [
    ...(options.configFile === undefined ? [] : [options.configFile]),
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--daemonize', 'no',
    '--dir', dir,
    '--logfile', '',
    '--loglevel', 'warning',
    ...(options.tls === undefined
      ? []
      : [
          '--tls-port', String(tlsPort),
          '--tls-cert-file', options.tls.certFile,
          '--tls-key-file', options.tls.keyFile,
          '--tls-ca-cert-file', options.tls.certFile,
          '--tls-auth-clients', 'no',
        ]),
    ...(options.args ?? []),
  ]

  async function start(): Promise<void> {
    if (closed) throw new Error('this private Redis was closed')
    if (child !== undefined) return
    const started = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    child = started
    live.add(started)
    started.stdout?.on('data', (data: Buffer) => (output += data.toString()))
    started.stderr?.on('data', (data: Buffer) => (output += data.toString()))
    exited = new Promise<void>((resolve) => {
      started.once('exit', () => {
        live.delete(started)
        if (child === started) child = undefined
        resolve()
      })
    })
    const giveUpAt = performance.now() + 10_000
    while (performance.now() < giveUpAt) {
      if (child !== started) throw new Error(`redis-server on port ${port} exited at start-up:\n${output}`)
      if (await pingOnce(port, 500)) return
      await sleep(10)
    }
    started.kill('SIGKILL')
    throw new Error(`redis-server on port ${port} did not answer PING within 10 s:\n${output}`)
  }

  async function signal(name: NodeJS.Signals, graceMs: number): Promise<void> {
    const running = child
    if (running === undefined) return
    const done = exited
    running.kill(name)
    const timer = setTimeout(() => running.kill('SIGKILL'), graceMs)
    await done
    clearTimeout(timer)
  }

  const server: PrivateRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    tlsUrl: tlsPort === undefined ? undefined : `rediss://127.0.0.1:${tlsPort}`,
    get running() {
      return child !== undefined
    },
    start,
    stop: (graceMs = 3000) => signal('SIGTERM', graceMs),
    kill: () => signal('SIGKILL', 0),
    async close() {
      if (closed) return
      closed = true
      await signal('SIGTERM', 2000)
      rmSync(dir, { recursive: true, force: true })
    },
    log: () => output,
  }
  if (options.start !== false) await start()
  return server
}
