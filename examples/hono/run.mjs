#!/usr/bin/env node
/**
 * `npm run example:hono` (from the repository root): builds isr-cache, packs it, installs the tarball into
 * this app (as a user installs the package), and starts it on http://127.0.0.1:3000 with the upstream
 * "CMS" the pages read on http://127.0.0.1:3001. Without ISR_CACHE_STORE the cache is the library's
 * default, in memory.
 *
 * Environment: PORT (3000), UPSTREAM_PORT (3001), ISR_CACHE_SECRET (default: a random one, printed),
 * ISR_CACHE_STORE (e.g. redis://127.0.0.1:6379), ISR_CACHE_PREFIX, REVALIDATE (10).
 */
import { randomBytes } from 'node:crypto'
import { exampleDirs, installExample, packLibrary, run, repoRoot, startServer } from '../next/tooling/prepare.mjs'
import { startUpstream } from '../next/tooling/upstream.mjs'

const dir = exampleDirs.hono
const port = Number(process.env.PORT ?? 3000)
const upstreamPort = Number(process.env.UPSTREAM_PORT ?? 3001)
const secret = process.env.ISR_CACHE_SECRET ?? randomBytes(16).toString('hex')

await run('npm', ['run', 'build'], { cwd: repoRoot })
const library = await packLibrary()
const install = await installExample(dir, library, { sentinel: 'hono' })
console.log(`[example] install ${install.ran ? `${install.ms} ms` : 'reused'}`)

const upstream = await startUpstream({ port: upstreamPort })
const server = await startServer(dir, {
  args: ['server.mjs'],
  port,
  ready: /listening on/,
  name: 'hono',
  env: { PORT: String(port), UPSTREAM_URL: upstream.url, ISR_CACHE_SECRET: secret },
  echo: true,
})
console.log(`
  App:       ${server.url}   (try ${server.url}/isr and reload: the render id stays until ${process.env.REVALIDATE ?? 10} s have passed)
  Store:     ${process.env.ISR_CACHE_STORE ?? 'in memory (set ISR_CACHE_STORE=redis://… for Redis)'}
  Upstream:  ${upstream.url}/posts
  Change the posts, then purge:
    curl -X PUT -d '{"version":"v2","title":"Edited"}' ${upstream.url}/posts
    curl -X POST -H 'authorization: Bearer ${secret}' '${server.url}/api/revalidate?tag=posts'
  Ctrl-C stops.
`)

let stopping = false
async function shutdown() {
  if (stopping) return
  stopping = true
  await server.stop()
  await upstream.close()
  process.exit(0)
}
process.on('SIGINT', shutdown)
process.on('SIGTERM', shutdown)
