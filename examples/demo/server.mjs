// isr-cache demo: a tiny blog whose pages come from a slow "origin" and are cached with
// stale-while-revalidate on a SQLite file. Run it with `npm run demo` from the repository root.
//
//   GET  /, /posts/:slug   a page rendered through cache.getOrSet (add ?fail=1 to make the origin fail)
//   POST /purge            purge by tag  (form or JSON: { tag, mode: "soft" | "hard" })
//   POST /purge-path       purge by path (form or JSON: { path, type: "page" | "layout" })
//   GET  /stats            cache.stats() as JSON
import http from 'node:http'
import { resolve } from 'node:path'
import { createIsrCache, IsrCacheError } from '../../dist/index.js'

const STORE = 'sqlite://.isr-cache/demo.sqlite' // relative to the working directory (the repo root under npm)
const REVALIDATE = process.env.DEMO_REVALIDATE ? Number(process.env.DEMO_REVALIDATE) : 10
const PORT = Number(process.env.PORT ?? 0) // 0: the OS picks a free port
const SOFT_PURGE_EXPIRE = 60 // a soft purge keeps serving the old page (as stale) for up to 60 s

let lastError = '' // the last error the cache handled by itself (e.g. a failed background regeneration)
let cache
try {
  cache = createIsrCache({
    store: STORE,
    revalidate: REVALIDATE, // seconds after which an entry is stale: served at once, regenerated in the background
    onError(error) {
      lastError = `${new Date().toISOString()} ${error.code}: ${error.message}`
      console.warn(lastError)
    },
  })
} catch (error) {
  // Bad configuration (e.g. DEMO_REVALIDATE=abc) or a missing peer package: say so in one line.
  console.error(error instanceof IsrCacheError ? `${error.code}: ${error.message}` : error)
  process.exit(1)
}
console.log(`store: ${cache.storeKind} (file ${resolve('.isr-cache/demo.sqlite')}), revalidate: ${REVALIDATE} s`)

const sleep = (ms) => new Promise((done) => setTimeout(done, ms))
const html = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
const POSTS = { hello: 'Hello, ISR', world: 'Caching the world' }

// The "origin": slow (300 ms), and stamped with the time it ran, so you can tell a cached copy from a new one.
// Whatever it returns is what the cache stores; the status/age/stats around it are rendered on every request.
async function render(slug, fail) {
  await sleep(300)
  if (fail) throw new Error('the origin is down (?fail=1)')
  const title = slug ? POSTS[slug] : 'All posts'
  const body = slug
    ? `<p>This is the post “${html(slug)}”.</p>`
    : `<ul>${Object.entries(POSTS).map(([s, t]) => `<li><a href="/posts/${s}">${html(t)}</a></li>`).join('')}</ul>`
  return { title, body, generatedAt: new Date().toISOString() }
}

function page(result, url, tag) {
  const { value, status, lastModified } = result
  const age = ((Date.now() - lastModified) / 1000).toFixed(1)
  const message = url.searchParams.get('msg')
  const here = url.pathname
  return `<!doctype html><meta charset="utf-8"><title>${html(value.title)} · isr-cache demo</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}
.status{font-weight:bold}.hit{color:green}.stale{color:darkorange}.miss{color:crimson}
pre,.msg{background:#f4f4f4;padding:.5rem}form{margin:.5rem 0}</style>
<nav><a href="/">/</a> · <a href="/posts/hello">/posts/hello</a> · <a href="/posts/world">/posts/world</a> · <a href="/stats">/stats</a></nav>
${message ? `<p class="msg">${html(message)}</p>` : ''}
<h1>${html(value.title)}</h1>
${value.body}
<h2>This response</h2>
<ul>
  <li>Cache status: <span class="status ${status}">${status.toUpperCase()}</span> (also in the <code>x-isr-cache</code> header)</li>
  <li>Page generated at: <b>${html(value.generatedAt)}</b></li>
  <li>Entry age: ${age} s · revalidate: ${REVALIDATE} s (for entries written by this process; older ones keep theirs)</li>
</ul>
<p><a href="${html(here)}">Reload</a> · <a href="${html(here)}?fail=1">Reload with a failing origin (?fail=1)</a></p>
<h2>What to watch</h2>
<ol>
  <li>First request: <b>MISS</b>, slow (~300 ms): nothing was cached, so the origin ran while you waited.</li>
  <li>Reload: <b>HIT</b>, fast, same generation time: served from the SQLite file.</li>
  <li>After ${REVALIDATE} s: <b>STALE</b>, still fast and still the old page; a regeneration started in the background.</li>
  <li>Reload: <b>HIT</b> again, with a <i>new</i> generation time.</li>
  <li>Hard purge: the next request is a <b>MISS</b>. Soft purge: the next request is <b>STALE</b> (old page now, new one next time).</li>
  <li><code>?fail=1</code> makes the origin throw. A fresh entry is served as usual (the origin is not called); a stale one
    is still served (stale-if-error) and the failure shows below; with no entry at all you get a 500.</li>
</ol>
<h2>Purge</h2>
<form method="post" action="/purge"><input type="hidden" name="back" value="${html(here)}">
  Tag <input name="tag" value="${html(tag)}">
  <label><input type="radio" name="mode" value="hard" checked> hard (expire now)</label>
  <label><input type="radio" name="mode" value="soft"> soft (stale now, expire in ${SOFT_PURGE_EXPIRE} s)</label>
  <button>Purge tag</button></form>
<form method="post" action="/purge-path"><input type="hidden" name="back" value="${html(here)}">
  Path <input name="path" value="${html(here)}">
  <select name="type"><option value="page">page</option><option value="layout">layout (and below)</option></select>
  <button>Purge path</button></form>
<h2>Cache stats</h2>
<pre>${html(JSON.stringify(cache.stats(), null, 2))}</pre>
${lastError ? `<p>Last error handled by the cache:</p><pre>${html(lastError)}</pre>` : ''}`
}

// An error with the HTTP status to answer (the library's own errors are mapped in the request handler).
class HttpError extends Error {
  constructor(status, message) {
    super(message)
    this.status = status
  }
}

// Reads a small request body: JSON when the client says so, else an HTML form (urlencoded).
async function readBody(req) {
  let raw = ''
  req.setEncoding('utf8')
  for await (const chunk of req) {
    raw += chunk
    if (raw.length > 64 * 1024) throw new HttpError(413, 'request body too large')
  }
  if (!isJson(req)) return Object.fromEntries(new URLSearchParams(raw))
  try {
    const parsed = JSON.parse(raw || '{}')
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object')
    return parsed
  } catch (error) {
    throw new HttpError(400, `invalid JSON body: ${error.message}`)
  }
}

const isJson = (req) => (req.headers['content-type'] ?? '').includes('application/json')

function send(res, status, type, body, headers = {}) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers })
  res.end(body)
}
const sendJson = (res, status, data) => send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(data, null, 2)}\n`)

// Soft purges mark entries stale now and expire them after SOFT_PURGE_EXPIRE; hard purges expire them now.
function purgeOptions(fields) {
  const mode = fields.mode ?? (fields.soft === true || fields.soft === 'on' ? 'soft' : 'hard')
  if (mode !== 'soft' && mode !== 'hard') throw new HttpError(400, `mode must be "soft" or "hard"; got ${JSON.stringify(mode)}`)
  return { mode, options: mode === 'soft' ? { expire: SOFT_PURGE_EXPIRE } : {} }
}

async function handlePurge(req, res, kind) {
  const fields = await readBody(req)
  const { mode, options } = purgeOptions(fields)
  let purged
  if (kind === 'tag') {
    await cache.revalidateTag(fields.tag, options) // throws IsrCacheError (E_INVALID_INPUT) for a bad tag
    purged = { tag: fields.tag, mode }
  } else {
    const type = fields.type || 'page'
    await cache.revalidatePath(fields.path, { type, ...options }) // ... and for a bad path or type
    purged = { path: fields.path, type, mode }
  }
  if (isJson(req)) return sendJson(res, 200, { ok: true, purged })
  // A form: go back to the page (303 turns the POST into a GET) with a message.
  const back = typeof fields.back === 'string' && /^\/(?!\/)/.test(fields.back) ? fields.back : '/'
  const text = `Purged ${kind} ${JSON.stringify(purged.tag ?? purged.path)} (${mode}${kind === 'path' ? `, ${purged.type}` : ''}). Reload to see the effect.`
  send(res, 303, 'text/plain; charset=utf-8', 'See Other\n', { location: `${back}?msg=${encodeURIComponent(text)}` })
}

async function handlePage(res, url, slug) {
  const path = url.pathname
  const fail = url.searchParams.get('fail') === '1'
  // The key and the path are the pathname, without the query: ?fail=1 and ?msg=… hit the same entry.
  const tags = slug ? ['posts', `post:${slug}`] : ['posts']
  const result = await cache.getOrSet(path, () => render(slug, fail), { tags, path })
  send(res, 200, 'text/html; charset=utf-8', page(result, url, tags.at(-1)), {
    'x-isr-cache': result.status.toUpperCase(),
    'x-generated-at': result.value.generatedAt, // when the origin rendered this copy (the curl recipe reads it)
  })
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost')
  try {
    const post = /^\/posts\/([a-z0-9-]+)$/.exec(url.pathname)
    if (req.method === 'GET' && (url.pathname === '/' || (post && post[1] in POSTS))) await handlePage(res, url, post?.[1])
    else if (req.method === 'GET' && url.pathname === '/stats') sendJson(res, 200, cache.stats())
    else if (req.method === 'POST' && url.pathname === '/purge') await handlePurge(req, res, 'tag')
    else if (req.method === 'POST' && url.pathname === '/purge-path') await handlePurge(req, res, 'path')
    else send(res, 404, 'text/plain; charset=utf-8', `Not found: ${req.method} ${url.pathname}\n`)
  } catch (error) {
    // Bad input → 400 with the library's message; a render failure with nothing to serve → 500.
    const badInput = error instanceof HttpError || (error instanceof IsrCacheError && error.code === 'E_INVALID_INPUT')
    const status = error instanceof HttpError ? error.status : badInput ? 400 : 500
    const code = error instanceof IsrCacheError ? error.code : undefined
    if (status === 500) console.error(code ? `${code}: ${error.message}` : error)
    if (res.headersSent) return res.end()
    if (isJson(req)) sendJson(res, status, { ok: false, code, error: error.message })
    else send(res, status, 'text/plain; charset=utf-8', `${status} ${code ? `${code}: ` : ''}${error.message}\n`)
  }
})

server.on('error', (error) => {
  console.error(`cannot listen: ${error.message}`)
  process.exit(1)
})
server.listen(PORT, '127.0.0.1', () => {
  console.log(`isr-cache demo on http://127.0.0.1:${server.address().port}`)
})

// Ctrl-C / `kill`: stop accepting requests, let running regenerations finish, close the SQLite file.
let stopping = false
async function shutdown(signal) {
  if (stopping) return
  stopping = true
  console.log(`${signal}: shutting down`)
  // Requests in progress finish; idle keep-alive connections are closed (Node >= 19 does that in close()).
  await new Promise((done) => server.close(done))
  await cache.close() // waits for background regenerations, then closes the SQLite connection
  process.exit(0)
}
process.on('SIGINT', () => void shutdown('SIGINT'))
process.on('SIGTERM', () => void shutdown('SIGTERM'))
