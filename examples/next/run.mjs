#!/usr/bin/env node
/**
 * `npm run example:next` (from the repository root): builds isr-cache, packs it, installs the tarball into
 * this app, runs `next build` and `next start` on http://127.0.0.1:3000, with the upstream the pages read
 * on http://127.0.0.1:3001. Without ISR_CACHE_STORE the cache is a SQLite file under .next/cache/.
 *
 * Environment: PORT (3000), UPSTREAM_PORT (3001), REVALIDATE_SECRET (default: a random one, printed),
 * ISR_CACHE_STORE (e.g. redis://127.0.0.1:6379), ISR_CACHE_PREFIX.
 */
import { randomBytes } from 'node:crypto'
import { exampleDirs, prepareApp, serveUntilStopped, startNext } from './tooling/prepare.mjs'
import { startUpstream } from './tooling/upstream.mjs'

const dir = exampleDirs.next
const port = Number(process.env.PORT ?? 3000)
const upstreamPort = Number(process.env.UPSTREAM_PORT ?? 3001)
const secret = process.env.REVALIDATE_SECRET ?? randomBytes(12).toString('hex')

// echo: npm's and Next's own output while installing and building (a first install takes minutes).
const { install, build } = await prepareApp(dir, { buildLibrary: true, echo: true })
console.log(`[example] install ${install.ran ? `${install.ms} ms` : 'reused'}, build ${build.ran ? `${build.ms} ms` : 'reused'}`)

const upstream = await startUpstream({ port: upstreamPort })
const server = await startNext(dir, { port, env: { UPSTREAM_URL: upstream.url, REVALIDATE_SECRET: secret }, echo: true })
serveUntilStopped({
  server,
  upstream,
  try: `try ${server.url}/isr and reload: the render id stays until 5 s have passed`,
  store: process.env.ISR_CACHE_STORE ?? 'SQLite file under .next/cache/ (set ISR_CACHE_STORE=redis://… for Redis)',
  purge: `curl -X POST -H 'x-revalidate-secret: ${secret}' '${server.url}/api/revalidate?tag=posts&profile=max'`,
})
