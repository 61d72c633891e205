/**
 * End-to-end harness for the Next.js example apps (examples/next, examples/next15).
 *
 * `prepareExample` packs this checkout (`npm pack` of dist/, so run `npm run build` first, as `npm test`
 * does: rebuilding dist/ here would pull it from under test files running beside this one), installs the
 * tarball into the example like a user would, and runs `next build`, once per test run, each step skipped
 * when its inputs are unchanged (see examples/next/tooling/prepare.mjs).
 * `startCluster` starts `next start` instances on free loopback ports that share one store, plus the
 * loopback upstream the pages read from and report their renders to. Instances answer `get`, `rsc` and
 * `revalidate` with the response's status, `x-nextjs-cache` header and the page's markers.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { exampleDirs, prepareApp, startNext, type Library, type NextServer, type StepResult } from '../../examples/next/tooling/prepare.mjs'
import { startUpstream, type Upstream } from '../../examples/next/tooling/upstream.mjs'
import { freePort } from './redis-server.js'

export type ExampleName = Exclude<keyof typeof exampleDirs, 'hono' | 'sveltekit' | 'astro'>

/**
 * How long a test waits after a write on one instance before reading on another (a write's feed message is
 * fire and forget; the L1 entry is re-read after `l1MaxAge`, 1 s by default). Not needed after a purge: a
 * purge resolves once every live instance has applied it (issue 15), and the tag and path purge tests
 * read on B right after the purge on A answered.
 */
export const PROPAGATION_MS = 1500

const log = (line: string) => console.log(`[next e2e] ${line}`)
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export interface PreparedExample {
  name: ExampleName
  dir: string
  library: Library
  install: StepResult
  build: StepResult
}

const prepared = new Map<ExampleName, Promise<PreparedExample>>()

/** Packs this checkout, installs the tarball into an example app and builds it, once per test process. */
export function prepareExample(name: ExampleName): Promise<PreparedExample> {
  let preparing = prepared.get(name)
  if (preparing === undefined) {
    const dir = exampleDirs[name]
    preparing = prepareApp(dir, { log }).then(({ library, install, build }) => {
      log(
        `${name}: pack ${library.ms} ms, install ${install.ran ? `${install.ms} ms` : 'reused'}, build ${build.ran ? `${build.ms} ms` : 'reused'}`,
      )
      return { name, dir, library, install, build }
    })
    prepared.set(name, preparing)
  }
  return preparing
}

/** What a test reads from a response. */
export interface Page {
  status: number
  /** The `x-nextjs-cache` header: HIT, STALE, MISS, or null. */
  cache: string | null
  /** #render-id: unique per render (from HTML, an RSC payload, or the JSON of /api/time). */
  renderId: string | undefined
  /** #rendered-at as epoch ms. */
  renderedAt: number | undefined
  /** #content: the upstream's posts version the page rendered. */
  content: string | undefined
  /** #cached-id: the result of the 'use cache' function. */
  cachedId: string | undefined
  contentType: string | null
  body: string
  /** Time to the complete body. */
  ms: number
}

function marker(body: string, id: string, jsonName: string): string | undefined {
  return (
    // HTML: <span id="render-id">…</span>
    body.match(new RegExp(`id="${id}">([^<]*)<`))?.[1] ??
    // RSC payload: ["$","span",null,{"id":"render-id","children":"…"}]
    body.match(new RegExp(`"id":"${id}","children":"([^"]*)"`))?.[1] ??
    // JSON route handler: {"renderId":"…"}
    body.match(new RegExp(`"${jsonName}":"([^"]*)"`))?.[1]
  )
}

export function parsePage(response: Response, body: string, ms: number): Page {
  const renderedAt = marker(body, 'rendered-at', 'renderedAt')
  return {
    status: response.status,
    cache: response.headers.get('x-nextjs-cache'),
    renderId: marker(body, 'render-id', 'renderId'),
    renderedAt: renderedAt === undefined ? undefined : Date.parse(renderedAt),
    content: marker(body, 'content', 'content'),
    cachedId: marker(body, 'cached-id', 'cachedId'),
    contentType: response.headers.get('content-type'),
    body,
    ms,
  }
}

/** A page for a failure message: what matters, not the whole body. */
export function describePage(page: Page): string {
  return JSON.stringify({ status: page.status, cache: page.cache, renderId: page.renderId, content: page.content, cachedId: page.cachedId })
}

export interface Instance {
  readonly name: string
  readonly url: string
  readonly running: boolean
  /** GET a path (HTML, or whatever the route returns). */
  get(path: string, headers?: Record<string, string>): Promise<Page>
  /**
   * A client-navigation request (`RSC: 1`), or with `segment` a segment prefetch (`Next-Router-Prefetch: 1`,
   * `Next-Router-Segment-Prefetch: <segment>`). Next answers a request without the matching `_rsc`
   * cache-busting parameter with a 307 to the URL that has it; this follows it, as the router does.
   */
  rsc(path: string, options?: { segment?: string }): Promise<Page>
  /** POST /api/revalidate with these parameters and the secret; throws unless Next answers 200. */
  revalidate(params: Record<string, string>): Promise<void>
  /** Invokes the server action exported as `exportedName` from the page at `path`, like a form submit does. */
  action(path: string, exportedName: string): Promise<Page>
  /** Starts it again on the same port (after `kill` or `stop`). */
  start(): Promise<void>
  stop(): Promise<void>
  /** SIGKILL: no graceful shutdown. */
  kill(): Promise<void>
  output(): string
}

export interface Cluster {
  upstream: Upstream
  instances: Instance[]
  /** Stops the instances and the upstream (the caller drops the store's keys). */
  stop(): Promise<void>
}

export interface ClusterOptions {
  /** ISR_CACHE_STORE of every instance, e.g. a redis:// URL. */
  store: string
  /** ISR_CACHE_PREFIX of every instance: unique per test run. */
  prefix: string
  /** One instance per name (default A and B). */
  names?: string[]
  /** More environment for every instance (e.g. ISR_CACHE_BENCH_HANDLER, ISR_CACHE_COUNT_GETS_PORT). */
  env?: Record<string, string>
}

/** Starts `next start` instances of a prepared example that share one store, and the upstream they read. */
export async function startCluster(app: PreparedExample, options: ClusterOptions): Promise<Cluster> {
  const upstream = await startUpstream()
  const secret = randomBytes(16).toString('hex')
  const env = {
    ISR_CACHE_STORE: options.store,
    ISR_CACHE_PREFIX: options.prefix,
    UPSTREAM_URL: upstream.url,
    REVALIDATE_SECRET: secret,
    // A line per purge applied by every instance (the example's isr-cache-options.mjs): revalidate() waits for it.
    ISR_CACHE_LOG_PURGES: '1',
    ...options.env,
  }
  const instances: Instance[] = []
  try {
    for (const name of options.names ?? ['A', 'B']) {
      instances.push(await startInstance(app, name, await freePort(), env, secret))
    }
  } catch (error) {
    await Promise.all(instances.map((instance) => instance.stop()))
    await upstream.close()
    throw error
  }
  return {
    upstream,
    instances,
    async stop() {
      await Promise.all(instances.map((instance) => instance.stop()))
      await upstream.close()
    },
  }
}

async function startInstance(app: PreparedExample, name: string, port: number, env: Record<string, string>, secret: string): Promise<Instance> {
  let server: NextServer | undefined
  const url = `http://127.0.0.1:${port}`
  let lastOutput = ''

  async function start(): Promise<void> {
    if (server?.running) return
    server = await startNext(app.dir, { port, env, name: `${app.name} ${name}`, log })
  }

  async function send(path: string, init: RequestInit = {}): Promise<{ response: Response; page: Page }> {
    const started = performance.now()
    const response = await fetch(url + path, { redirect: 'manual', signal: AbortSignal.timeout(60_000), ...init })
    const body = await response.text()
    return { response, page: parsePage(response, body, Math.round(performance.now() - started)) }
  }
  const request = async (path: string, init?: RequestInit) => (await send(path, init)).page

  let actionIds: Record<string, string> | undefined
  function actionId(exportedName: string): string {
    if (actionIds === undefined) {
      const manifest = JSON.parse(readFileSync(join(app.dir, '.next', 'server', 'server-reference-manifest.json'), 'utf8')) as {
        node: Record<string, { exportedName?: string }>
      }
      actionIds = {}
      for (const [id, entry] of Object.entries(manifest.node)) if (entry.exportedName !== undefined) actionIds[entry.exportedName] = id
    }
    const id = actionIds[exportedName]
    if (id === undefined) throw new Error(`no server action exported as ${exportedName} in ${app.name}'s build`)
    return id
  }

  await start()
  return {
    name,
    url,
    get running() {
      return server?.running ?? false
    },
    get: (path, headers = {}) => request(path, { headers }),
    async rsc(path, options = {}) {
      const headers: Record<string, string> = { RSC: '1' }
      if (options.segment !== undefined) {
        headers['Next-Router-Prefetch'] = '1'
        headers['Next-Router-Segment-Prefetch'] = options.segment
      }
      const { response, page } = await send(path, { headers })
      const location = response.headers.get('location')
      if (page.status !== 307 || location === null || !location.includes('_rsc')) return page
      return request(location, { headers })
    },
    async revalidate(params) {
      const since = Date.now()
      const response = await fetch(`${url}/api/revalidate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-revalidate-secret': secret },
        body: JSON.stringify(params),
        signal: AbortSignal.timeout(30_000),
      })
      const body = await response.text()
      if (response.status !== 200) throw new Error(`${name}: POST /api/revalidate ${JSON.stringify(params)} answered ${response.status}: ${body}`)
      // Next runs a route handler's revalidateTag and revalidatePath after it has sent the response (its
      // waitUntil): the purge is done, and acknowledged by every live instance, once this instance logs it.
      await waitFor(async () => (purgeLoggedSince(server?.output() ?? '', since) ? true : undefined), {
        timeoutMs: 10_000,
        intervalMs: 5,
        describe: () => `${name} never logged the purge of ${JSON.stringify(params)} (no "[isr-cache] purge" line since the request)`,
      })
    },
    action(path, exportedName) {
      return request(path, {
        method: 'POST',
        headers: { 'Next-Action': actionId(exportedName), 'content-type': 'text/plain;charset=UTF-8', accept: 'text/x-component' },
        // The action's arguments, encoded as the client encodes them: none.
        body: '[]',
      })
    },
    start,
    async stop() {
      lastOutput = server?.output() ?? lastOutput
      await server?.stop()
    },
    async kill() {
      lastOutput = server?.output() ?? lastOutput
      await server?.kill()
    },
    output: () => (server?.running ? server.output() : (server?.output() ?? lastOutput)),
  }
}

/** Whether `output` has a purge line (ISR_CACHE_LOG_PURGES) for a purge finished at or after `since`. */
function purgeLoggedSince(output: string, since: number): boolean {
  for (const match of output.matchAll(/\[isr-cache\] purge (\{.*\})/g)) {
    const { at } = JSON.parse(match[1] as string) as { at: number }
    if (at >= since) return true
  }
  return false
}

/** Polls `probe` until it returns a value other than undefined; throws with `describe()` after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  { timeoutMs = 20_000, intervalMs = 250, describe = () => '' }: { timeoutMs?: number; intervalMs?: number; describe?: () => string } = {},
): Promise<T> {
  const giveUpAt = performance.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (performance.now() > giveUpAt) throw new Error(`gave up after ${timeoutMs} ms: ${describe()}`)
    await sleep(intervalMs)
  }
}

/** Sleeps until `ms` milliseconds after the epoch time `since`. */
export async function sleepUntil(since: number, ms: number): Promise<void> {
  const left = since + ms - Date.now()
  if (left > 0) await sleep(left)
}
