/**
 * The example's "CMS": a tiny HTTP server on loopback that the pages read their content from, and that
 * counts renders (each page reports its render here, so a test can tell how many regenerations ran).
 *
 *   GET  /posts                  the current posts document (JSON)
 *   PUT  /posts                  replace it (JSON body)
 *   POST /renders?route=/isr     count one render of a route (the pages call this)
 *   GET  /renders                the counts, e.g. {"/isr": 3}
 *   GET  /gate?name=x            answers at once, or once a test opens the gate it closed (a render a
 *                                test holds in the middle: `closeGate('x')`, `waiting('x')`, `openGate('x')`)
 */
import { createServer } from 'node:http'

/** @param {{ port?: number, posts?: unknown }} [options] */
export async function startUpstream(options = {}) {
  let posts = options.posts ?? { version: 'v1', title: 'Hello from the upstream' }
  const renders = new Map()
  /** Epoch ms of each reported render, per route. */
  const renderTimes = new Map()
  /** Closed gates: name → the answers waiting for it to open. */
  const gates = new Map()

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://upstream')
    const send = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      res.end(JSON.stringify(body))
    }
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk) => (body += chunk))
    req.on('end', () => {
      if (url.pathname === '/posts' && req.method === 'GET') return send(200, posts)
      if (url.pathname === '/posts' && req.method === 'PUT') {
        try {
          posts = JSON.parse(body)
        } catch {
          return send(400, { error: 'the body must be JSON' })
        }
        return send(200, posts)
      }
      if (url.pathname === '/renders' && req.method === 'POST') {
        const route = url.searchParams.get('route') ?? '?'
        renders.set(route, (renders.get(route) ?? 0) + 1)
        if (!renderTimes.has(route)) renderTimes.set(route, [])
        renderTimes.get(route).push(Date.now())
        return send(200, { route, count: renders.get(route) })
      }
      if (url.pathname === '/renders' && req.method === 'GET') return send(200, Object.fromEntries(renders))
      if (url.pathname === '/gate' && req.method === 'GET') {
        const waiting = gates.get(url.searchParams.get('name') ?? '')
        if (waiting === undefined) return send(200, { open: true })
        waiting.push(() => send(200, { open: true }))
        return
      }
      send(404, { error: 'not found' })
    })
  })
  // Next keeps connections alive; without this, close() would wait for them.
  server.keepAliveTimeout = 1000

  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve(undefined))
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('the upstream has no TCP address')

  return {
    url: `http://127.0.0.1:${address.port}`,
    /** Replaces the posts document the pages render. */
    setPosts(value) {
      posts = value
    },
    /** How many renders of `route` were reported since the start (or the last reset). */
    renders(route) {
      return renders.get(route) ?? 0
    },
    /** When each of those renders was reported (epoch ms), in order. */
    renderTimes(route) {
      return [...(renderTimes.get(route) ?? [])]
    },
    resetRenders() {
      renders.clear()
      renderTimes.clear()
    },
    /** Makes `GET /gate?name=<name>` wait until `openGate(name)`. */
    closeGate(name) {
      if (!gates.has(name)) gates.set(name, [])
    },
    /** Answers every request waiting at the gate, and lets later ones through. */
    openGate(name) {
      const waiting = gates.get(name) ?? []
      gates.delete(name)
      for (const answer of waiting) answer()
    },
    /** How many requests are waiting at a closed gate now. */
    waiting(name) {
      return gates.get(name)?.length ?? 0
    },
    close() {
      return new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve(undefined))
      })
    },
  }
}
