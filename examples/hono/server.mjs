/**
 * isr-cache on Hono (Node, through @hono/node-server). The app is ordinary Hono; caching is one line
 * around its fetch: `isr(request, app.fetch)`, with route rules saying which pages are cached.
 *
 * Environment: PORT (3000), HOST (127.0.0.1), ISR_CACHE_STORE (default: in memory; e.g. redis://127.0.0.1:6379),
 * ISR_CACHE_PREFIX, ISR_CACHE_SECRET (the revalidation endpoint's secret; default: a random one, printed),
 * ISR_CACHE_BYPASS_TOKEN, REVALIDATE (seconds, default 10), UPSTREAM_URL (the "CMS" the pages read and
 * report their renders to; without it they render local content), BENCH=1 (the benchmark's comparison routes).
 */
import { randomBytes } from 'node:crypto'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { createIsrCache } from 'isr-cache'
import { createIsrHandler, createRevalidationHandler } from 'isr-cache/http'

const env = process.env
const port = Number(env.PORT ?? 3000)
const hostname = env.HOST ?? '127.0.0.1'
const revalidate = Number(env.REVALIDATE ?? 10)
const upstream = env.UPSTREAM_URL
const secret = env.ISR_CACHE_SECRET ?? randomBytes(16).toString('hex')

const cache = createIsrCache({ store: env.ISR_CACHE_STORE, ...(env.ISR_CACHE_PREFIX ? { prefix: env.ISR_CACHE_PREFIX } : {}) })

const isr = createIsrHandler({
  cache,
  routes: {
    '/': { revalidate },
    '/isr': { revalidate },
    '/stampede': { revalidate: false },
    '/bench': { revalidate: 3600 },
    '/tagged/*': { revalidate: false, tags: ['posts'] },
    '/stream/*': { revalidate },
    '/cookie': { revalidate },
    '/search': { revalidate, allowQuery: ['q'] },
    '/admin/**': false,
    '/api/**': false,
  },
  bypassToken: env.ISR_CACHE_BYPASS_TOKEN,
})
const revalidateEndpoint = createRevalidationHandler({ cache, secret })

// ---- the app: nothing here knows about the cache ----------------------------------------------------

/** The content the pages show, from the upstream "CMS" when there is one. */
async function posts() {
  if (!upstream) return { version: 'local', title: 'Hello from isr-cache' }
  const response = await fetch(`${upstream}/posts`)
  return response.json()
}
/** Tells the upstream a render of `route` ran (the tests count renders there). */
async function reportRender(route) {
  if (upstream) await fetch(`${upstream}/renders?route=${encodeURIComponent(route)}`, { method: 'POST' }).then((r) => r.arrayBuffer())
}
/** Waits at the upstream's gate `name` (a test holds a render there); at once without an upstream. */
async function gate(name) {
  if (upstream) await fetch(`${upstream}/gate?name=${encodeURIComponent(name)}`).then((r) => r.arrayBuffer())
}

const renderId = () => randomBytes(6).toString('hex')
const page = (title, body) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`
const marker = (id, content) =>
  `<p>render <b data-render-id>${id}</b> at <time>${new Date().toISOString()}</time></p><p>content <span data-version>${content.version}</span>: ${content.title}</p>`

const app = new Hono()

app.get('/', (c) =>
  c.html(
    page(
      'isr-cache on Hono',
      `<ul>${['/isr', '/tagged/hello', '/stream/demo', '/cookie', '/search?q=hono', '/admin/panel'].map((href) => `<li><a href="${href}">${href}</a></li>`).join('')}</ul>`,
    ),
  ),
)

/** An ISR page: cached, stale after REVALIDATE seconds, regenerated in the background. */
app.get('/isr', async (c) => {
  await reportRender('/isr')
  return c.html(page('ISR page', marker(renderId(), await posts())))
})

/** The same, with a render the tests hold at a gate (to show that many requests cause one render). */
app.get('/stampede', async (c) => {
  await reportRender('/stampede')
  const content = await posts()
  await gate('stampede')
  return c.html(page('Stampede page', marker(renderId(), content)))
})

/** A tagged page: cached until a purge of "posts" (route rule) or "post-<slug>" (its Cache-Tag header). */
app.get('/tagged/:slug', async (c) => {
  const slug = c.req.param('slug')
  await reportRender(`/tagged/${slug}`)
  c.header('Cache-Tag', `post-${slug}`)
  return c.html(page(`Tagged page ${slug}`, marker(renderId(), await posts())))
})

/** A streamed page: the first chunk is sent before the rest is rendered. */
app.get('/stream/:id', async (c) => {
  const id = c.req.param('id')
  await reportRender(`/stream/${id}`)
  const encoder = new TextEncoder()
  const body = new ReadableStream({
    async start(controller) {
      controller.enqueue(encoder.encode(`<!doctype html><html><body><p data-chunk="first">first chunk of ${id}</p>`))
      await gate(`stream-${id}`)
      const content = await posts()
      controller.enqueue(encoder.encode(`${marker(renderId(), content)}<p data-chunk="last">last chunk</p></body></html>`))
      controller.close()
    },
  })
  return c.body(body, 200, { 'content-type': 'text/html; charset=utf-8' })
})

/** A page that sets a cookie, and shows what Cookie header its render saw. */
app.get('/cookie', async (c) => {
  await reportRender('/cookie')
  const id = renderId()
  c.header('Set-Cookie', `visitor=${id}; Path=/; HttpOnly; SameSite=Lax`)
  const seen = c.req.header('cookie') ?? 'none'
  return c.html(page('Cookie page', `${marker(id, await posts())}<p>cookie header seen by the render: <code data-cookie>${seen}</code></p>`))
})

/** A page keyed by its `q` parameter only (allowQuery): ?utm_source=… does not make another entry. */
app.get('/search', async (c) => {
  const q = c.req.query('q') ?? ''
  await reportRender(`/search?q=${q}`)
  return c.html(page('Search', `${marker(renderId(), await posts())}<p>results for <q data-q>${q.replace(/[<>&"]/g, '')}</q></p>`))
})

/** Never cached (route rule false). */
app.get('/admin/*', (c) => c.html(page('Admin', `<p>render <b data-render-id>${renderId()}</b></p>`)))

/** The benchmark's page: about 10 KB of HTML, rendered without I/O. */
const rows = Array.from({ length: 120 }, (_, i) => `<li>item ${i}: ${'lorem ipsum '.repeat(5)}</li>`).join('')
app.get('/bench', (c) => c.html(page('Bench', `<p>${renderId()}</p><ul>${rows}</ul>`)))

/** On-demand revalidation for a CMS webhook: POST with the secret, tags and/or paths. */
app.all('/api/revalidate', (c) => revalidateEndpoint(c.req.raw))

// ---- the server --------------------------------------------------------------------------------------

/** BENCH=1: the same pages answered from a plain Map, or rendered every time, for bench.mjs to compare with. */
const map = new Map()
async function benchFetch(request) {
  const url = new URL(request.url)
  // This process's CPU time so far (µs): the bench divides it by the requests of a run, which other load
  // on the machine distorts far less than requests per second.
  if (url.pathname === '/__map/__cpu') return Response.json(process.cpuUsage())
  if (url.pathname.startsWith('/__uncached/')) return app.fetch(new Request(new URL(url.pathname.slice(11), url)))
  const path = url.pathname.slice(6)
  let stored = map.get(path)
  if (stored === undefined) {
    const rendered = await app.fetch(new Request(new URL(path, url)))
    // Headers as a plain record: the representation @hono/node-server writes fastest (isr-cache uses it too).
    stored = { status: rendered.status, headers: Object.fromEntries(rendered.headers), body: new Uint8Array(await rendered.arrayBuffer()) }
    map.set(path, stored)
  }
  return new Response(stored.body, { status: stored.status, headers: stored.headers })
}
const bench = env.BENCH === '1'

const server = serve({
  hostname,
  port,
  fetch: (request) => (bench && (request.url.includes('/__map/') || request.url.includes('/__uncached/')) ? benchFetch(request) : isr(request, app.fetch)),
})
server.once('listening', () => {
  console.log(`isr-cache hono example listening on http://${hostname}:${port} (store: ${cache.storeKind})`)
  if (!env.ISR_CACHE_SECRET) console.log(`revalidation secret (random, set ISR_CACHE_SECRET to choose one): ${secret}`)
})

let stopping = false
async function shutdown() {
  if (stopping) return
  stopping = true
  server.close()
  await cache.close().catch(() => {})
  process.exit(0)
}
process.on('SIGINT', shutdown)
process.on('SIGTERM', shutdown)
