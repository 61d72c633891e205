#!/usr/bin/env node
/**
 * `npm run bench:astro` (from the repository root; not part of CI): the Astro 7 fixture (examples/astro7,
 * Node 24), one page (/bench, about 10 KB of HTML) cached for an hour by `Astro.cache.set()`, answered three
 * ways, each warm:
 *
 *   isrCache     /bench on the build with `cache: { provider: isrCacheProvider() }`, a HIT every time
 *   memoryCache  /bench on the same app built with Astro's own `memoryCache()` provider (in process)
 *   uncached     /bench-uncached on the isr-cache build: the same page rendered for every request
 *
 * The provider is chosen at build time, so isrCache and memoryCache are two servers (one at a time under
 * load). Each is warmed for 2 s, then measured with autocannon; the three take turns, BENCH_ROUNDS times,
 * in a different order each round. Figures are medians over the rounds, ratios the medians of per-round
 * ratios, printed with the load average before and after (other load on the machine distorts them). The
 * last line is JSON: {"astroHitRpsVsMemoryCache" (target ≥ 1.0), "astroHitRpsVsUncached", …}, and the same
 * ratios in server CPU time per request (`astroHitCpuVsMemoryCache`: memoryCache's CPU per request ÷
 * isr-cache's), which other load distorts far less.
 *
 * Environment: BENCH_DURATION (seconds per measurement, 5), BENCH_CONNECTIONS (50), BENCH_ROUNDS (5),
 * BENCH_PORT (3400; the memoryCache build listens on BENCH_PORT + 1), ISR_CACHE_STORE (default: in memory;
 * e.g. redis://127.0.0.1:6379), ISR_CACHE_PREFIX (isr-cache-bench-astro).
 */
import { loadavg } from 'node:os'
import { compareHits } from '../next/tooling/bench-compare.mjs'
import { repoRoot, run } from '../next/tooling/prepare.mjs'
import { prepareAstro, prepareAstro7, startAstro7 } from './tooling/app.mjs'

const duration = Number(process.env.BENCH_DURATION ?? 5)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
const rounds = Number(process.env.BENCH_ROUNDS ?? 5)
const port = Number(process.env.BENCH_PORT ?? 3400)

await run('npm', ['run', 'build'], { cwd: repoRoot })
// autocannon is a devDependency of examples/astro: installed with it.
await prepareAstro()
await prepareAstro7()
await prepareAstro7({ cache: 'memory' })
const { default: autocannon } = await import(new URL('./node_modules/autocannon/autocannon.js', import.meta.url).href)

const env = { BENCH: '1', ISR_CACHE_PREFIX: process.env.ISR_CACHE_PREFIX ?? 'isr-cache-bench-astro' }
const isr = await startAstro7({ port, name: 'astro7-isr-cache', env })
const memory = await startAstro7({ port: port + 1, name: 'astro7-memory-cache', env, cache: 'memory' })
const load = () => loadavg().map((value) => Math.round(value * 100) / 100)

try {
  const loadBefore = load()
  console.log(`[bench] load average before: ${loadBefore.join(' ')}`)
  const summary = await compareHits({
    server: isr,
    servers: { map: memory },
    cpuPath: '/api/cpu',
    paths: { isrCache: '/bench', map: '/bench', uncached: '/bench-uncached' },
    autocannon,
    name: 'astro',
    duration,
    connections,
    rounds,
    store: process.env.ISR_CACHE_STORE ?? 'memory',
  })
  const loadAfter = load()
  console.log(`[bench] load average after: ${loadAfter.join(' ')}  ("map" above is memoryCache())`)
  const { map, astroHitRpsVsMap, astroHitCpuVsMap, p99MsMap, ...rest } = summary
  console.log(
    JSON.stringify({
      ...rest,
      memoryCache: map,
      p99MsMemoryCache: p99MsMap,
      astroHitRpsVsMemoryCache: astroHitRpsVsMap,
      astroHitCpuVsMemoryCache: astroHitCpuVsMap,
      loadAverage: { before: loadBefore, after: loadAfter },
    }),
  )
} finally {
  await Promise.all([isr.stop(), memory.stop()])
}
