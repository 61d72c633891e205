#!/usr/bin/env node
/**
 * `npm run example:nuxt` (from the repository root): builds isr-cache, packs it, installs the tarball into
 * this app (as a user installs the package), runs `nuxt build`, and starts `node .output/server/index.mjs`
 * on http://127.0.0.1:3000 with the upstream "CMS" the pages read on http://127.0.0.1:3001. Without
 * NUXT_ISR_CACHE_STORE (or ISR_CACHE_STORE) the cache is the module's embedded default: SQLite in .data/
 * (this app installs @keyv/sqlite), which survives restarts.
 *
 * Environment: PORT (3000), UPSTREAM_PORT (3001), NUXT_ISR_CACHE_SECRET (default: a random one, printed),
 * NUXT_ISR_CACHE_STORE (e.g. redis://127.0.0.1:6379), REVALIDATE (10, seconds until /isr is stale).
 */
import { randomBytes } from 'node:crypto'
import { repoRoot, run, serveUntilStopped } from '../next/tooling/prepare.mjs'
import { startUpstream } from '../next/tooling/upstream.mjs'
import { prepareNuxt, startNuxt } from './tooling/app.mjs'

const port = Number(process.env.PORT ?? 3000)
const upstreamPort = Number(process.env.UPSTREAM_PORT ?? 3001)
const secret = process.env.NUXT_ISR_CACHE_SECRET ?? process.env.ISR_CACHE_SECRET ?? randomBytes(16).toString('hex')

await run('npm', ['run', 'build'], { cwd: repoRoot })
const { install, build } = await prepareNuxt({ echo: true })
console.log(`[example] install ${install.ran ? `${install.ms} ms` : 'reused'}, build ${build.ran ? `${build.ms} ms` : 'reused'}`)

const upstream = await startUpstream({ port: upstreamPort })
const server = await startNuxt({ port, name: 'nuxt', echo: true, env: { UPSTREAM_URL: upstream.url, NUXT_ISR_CACHE_SECRET: secret } })
serveUntilStopped({
  server,
  upstream,
  try: `try ${server.url}/isr and reload: the render id stays until ${process.env.REVALIDATE ?? 10} s have passed`,
  store: process.env.NUXT_ISR_CACHE_STORE ?? process.env.ISR_CACHE_STORE ?? 'the embedded default (SQLite in examples/nuxt/.data; set NUXT_ISR_CACHE_STORE=redis://… for Redis)',
  purge: `curl -X POST -H 'authorization: Bearer ${secret}' -H 'content-type: application/json' -d '{"tags":["posts"]}' ${server.url}/api/revalidate`,
})
