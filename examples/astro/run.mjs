#!/usr/bin/env node
/**
 * `npm run example:astro` (from the repository root): builds isr-cache, packs it, installs the tarball into
 * this app (as a user installs the package), runs `astro build`, and starts `node dist/server/entry.mjs`
 * (@astrojs/node standalone) on http://127.0.0.1:3000 with the upstream "CMS" the pages read on
 * http://127.0.0.1:3001. Without ISR_CACHE_STORE the cache is the library's default, in memory.
 *
 * Environment: PORT (3000), UPSTREAM_PORT (3001), ISR_CACHE_SECRET (default: a random one, printed),
 * ISR_CACHE_STORE (e.g. redis://127.0.0.1:6379), ISR_CACHE_PREFIX, ISR_CACHE_BYPASS_TOKEN, REVALIDATE (10).
 */
import { randomBytes } from 'node:crypto'
import { repoRoot, run, serveUntilStopped } from '../next/tooling/prepare.mjs'
import { startUpstream } from '../next/tooling/upstream.mjs'
import { prepareAstro, startAstro } from './tooling/app.mjs'

const port = Number(process.env.PORT ?? 3000)
const upstreamPort = Number(process.env.UPSTREAM_PORT ?? 3001)
const secret = process.env.ISR_CACHE_SECRET ?? randomBytes(16).toString('hex')

await run('npm', ['run', 'build'], { cwd: repoRoot })
const { install, build } = await prepareAstro({ echo: true })
console.log(`[example] install ${install.ran ? `${install.ms} ms` : 'reused'}, build ${build.ran ? `${build.ms} ms` : 'reused'}`)

const upstream = await startUpstream({ port: upstreamPort })
const server = await startAstro({ port, name: 'astro', echo: true, env: { UPSTREAM_URL: upstream.url, ISR_CACHE_SECRET: secret } })
serveUntilStopped({
  server,
  upstream,
  try: `try ${server.url}/isr and reload: the render id stays until ${process.env.REVALIDATE ?? 10} s have passed`,
  store: process.env.ISR_CACHE_STORE ?? 'in memory (set ISR_CACHE_STORE=redis://… for Redis)',
  purge: `curl -X POST -H 'authorization: Bearer ${secret}' -H 'content-type: application/json' -d '{"tags":["posts"]}' ${server.url}/api/revalidate`,
})
