#!/usr/bin/env node
/**
 * `npm run bench:next` (from the repository root; not part of CI): the same build of this app, the same
 * page, served by one `next start` at a time:
 *
 *   builtin   Next's own cache (ISR_CACHE_DISABLED=1: next.config.mjs leaves out cacheHandler/cacheHandlers)
 *   isrCache  isr-cache on Redis (REDIS_URL, default redis://127.0.0.1:6379) with its L1 tier
 *
 * Each is warmed, then loaded with autocannon. The last line printed is JSON:
 *   {"nextHitRpsVsBuiltin": <isrCache rps / builtin rps>, "p99MsIsrCache": …, "p99MsBuiltin": …, …}
 *
 * Environment: BENCH_PATH (/blog/a, a prerendered page with revalidate 3600, so every request is a HIT),
 * BENCH_DURATION (seconds, 10), BENCH_CONNECTIONS (50), BENCH_PORT (3100), REDIS_URL.
 */
import { exampleDirs, prepareApp, startNext } from './tooling/prepare.mjs'
import { startUpstream } from './tooling/upstream.mjs'

const dir = exampleDirs.next
const path = process.env.BENCH_PATH ?? '/blog/a'
const duration = Number(process.env.BENCH_DURATION ?? 10)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
const port = Number(process.env.BENCH_PORT ?? 3100)
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

await prepareApp(dir, { buildLibrary: true })
// autocannon is a devDependency of the example: importable only once prepareApp has installed it.
const { default: autocannon } = await import('autocannon')
const upstream = await startUpstream()

function load(url, seconds) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections, duration: seconds }, (error, result) => (error ? reject(error) : resolve(result)))
  })
}

async function measure(name, env) {
  const server = await startNext(dir, { port, name, env: { UPSTREAM_URL: upstream.url, ...env } })
  try {
    const url = server.url + path
    // Until the page is cached (the first request may render it), then a short warm-up run.
    let cache = null
    for (let i = 0; i < 50 && cache !== 'HIT'; i++) {
      const response = await fetch(url)
      await response.arrayBuffer()
      cache = response.headers.get('x-nextjs-cache')
    }
    if (cache !== 'HIT') throw new Error(`${name}: ${path} is not a HIT after 50 requests (x-nextjs-cache: ${cache})\n${server.output()}`)
    await load(url, 2)
    const result = await load(url, duration)
    const last = await fetch(url)
    await last.arrayBuffer()
    const summary = {
      rps: Math.round(result.requests.average),
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      errors: result.errors + result.timeouts + result.non2xx,
      cacheAfter: last.headers.get('x-nextjs-cache'),
    }
    console.log(`[bench] ${name}: ${JSON.stringify(summary)}`)
    return summary
  } finally {
    await server.stop()
  }
}

try {
  const builtin = await measure('builtin', { ISR_CACHE_DISABLED: '1' })
  const isrCache = await measure('isrCache', { ISR_CACHE_STORE: redisUrl, ISR_CACHE_PREFIX: 'isr-cache-bench-next' })
  console.log(
    JSON.stringify({
      page: path,
      durationS: duration,
      connections,
      builtin,
      isrCache,
      nextHitRpsVsBuiltin: Math.round((isrCache.rps / builtin.rps) * 100) / 100,
      p99MsIsrCache: isrCache.p99Ms,
      p99MsBuiltin: builtin.p99Ms,
    }),
  )
} finally {
  await upstream.close()
}
