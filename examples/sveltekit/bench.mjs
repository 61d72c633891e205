#!/usr/bin/env node
/**
 * `npm run bench:sveltekit` (from the repository root; not part of CI): one `node build` of this example
 * (BENCH=1), one page (/bench, about 10 KB of HTML), answered three ways by the same process:
 *
 *   isrCache  /bench through createIsrHandle, a HIT every time
 *   map       /bench?__map: the same route, its bytes and headers from a plain Map in a handle hook in
 *             front of the cache (the ceiling for any cache in a SvelteKit hook)
 *   uncached  /bench-uncached: the same page, rendered by Kit for every request
 *
 * Each is warmed for 2 s, then measured with autocannon; the three take turns, BENCH_ROUNDS times, in a
 * different order each round. Figures are medians over the rounds, ratios the medians of per-round ratios.
 * The last line printed is JSON: {"sveltekitHitRpsVsMap" (target ≥ 0.9), "sveltekitHitRpsVsUncached",
 * "p99MsIsrCache", …}, and the same ratios in server CPU time per request (`sveltekitHitCpuVsMap`: map's
 * CPU per request ÷ isr-cache's), which other load on a shared machine distorts far less.
 *
 * Environment: BENCH_DURATION (seconds per measurement, 5), BENCH_CONNECTIONS (50), BENCH_ROUNDS (5),
 * BENCH_PORT (3300), ISR_CACHE_STORE (default: in memory; e.g. redis://127.0.0.1:6379), ISR_CACHE_PREFIX
 * (isr-cache-bench-sveltekit).
 */
import { compareHits } from '../next/tooling/bench-compare.mjs'
import { repoRoot, run } from '../next/tooling/prepare.mjs'
import { prepareSvelteKit, startSvelteKit } from './tooling/app.mjs'

const duration = Number(process.env.BENCH_DURATION ?? 5)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
const rounds = Number(process.env.BENCH_ROUNDS ?? 5)
const port = Number(process.env.BENCH_PORT ?? 3300)

await run('npm', ['run', 'build'], { cwd: repoRoot })
await prepareSvelteKit()
// autocannon is a devDependency of the example: importable once it is installed.
const { default: autocannon } = await import(new URL('./node_modules/autocannon/autocannon.js', import.meta.url).href)

const paths = { isrCache: '/bench', map: '/bench?__map', uncached: '/bench-uncached' }

const server = await startSvelteKit({
  port,
  name: 'sveltekit-bench',
  env: { BENCH: '1', ISR_CACHE_PREFIX: process.env.ISR_CACHE_PREFIX ?? 'isr-cache-bench-sveltekit' },
})

try {
  const summary = await compareHits({
    server,
    paths,
    autocannon,
    name: 'sveltekit',
    duration,
    connections,
    rounds,
    store: process.env.ISR_CACHE_STORE ?? 'memory',
  })
  console.log(JSON.stringify(summary))
} finally {
  await server.stop()
}
