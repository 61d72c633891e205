#!/usr/bin/env node
/**
 * `npm run bench:nuxt` (from the repository root; not part of CI): one production server of this example
 * (BENCH=1), one page (about 10 KB of HTML, no data fetching), answered three ways by the same process:
 *
 *   isrCache   /bench, `isr: 3600`, an isr-cache HIT every time
 *   nativeSwr  /bench-swr, Nitro's own `swr: 3600` rule (in memory, per process), warm
 *   uncached   /bench-uncached, rendered by Nuxt for every request
 *
 * Each is warmed for 2 s, then measured with autocannon; the three take turns, BENCH_ROUNDS times, in a
 * different order each round (examples/next/tooling/bench-compare.mjs). Figures are medians over the
 * rounds, ratios the medians of per-round ratios. The load average is printed beside them: on a shared
 * machine, read the CPU-per-request ratios (`nuxtHitCpuVs…`), which other load distorts far less. The last
 * line is JSON: {"nuxtHitRpsVsNativeSwr" (target ≥ 1.0), "nuxtHitRpsVsUncached", …}.
 *
 * Environment: BENCH_DURATION (seconds per measurement, 5), BENCH_CONNECTIONS (50), BENCH_ROUNDS (5),
 * BENCH_PORT (3300), NUXT_ISR_CACHE_STORE (default: memory; e.g. redis://127.0.0.1:6379).
 */
import { loadavg } from 'node:os'
import { compareHits } from '../next/tooling/bench-compare.mjs'
import { repoRoot, run } from '../next/tooling/prepare.mjs'
import { prepareNuxt, startNuxt } from './tooling/app.mjs'

const duration = Number(process.env.BENCH_DURATION ?? 5)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
const rounds = Number(process.env.BENCH_ROUNDS ?? 5)
const port = Number(process.env.BENCH_PORT ?? 3300)
const store = process.env.NUXT_ISR_CACHE_STORE ?? 'memory://'

await run('npm', ['run', 'build'], { cwd: repoRoot })
await prepareNuxt()
// autocannon is a devDependency of the example: importable once it is installed.
const { default: autocannon } = await import(new URL('./node_modules/autocannon/autocannon.js', import.meta.url).href)

const server = await startNuxt({ port, name: 'nuxt-bench', env: { BENCH: '1', NUXT_ISR_CACHE_STORE: store, NUXT_ISR_CACHE_PREFIX: 'isr-cache-bench-nuxt' } })
try {
  const loadBefore = loadavg()
  // compareHits names its baseline "map"; here the baseline is Nitro's swr rule.
  console.log('[bench] "map" below is /bench-swr, Nitro\'s native swr rule')
  const raw = await compareHits({ server, paths: { isrCache: '/bench', map: '/bench-swr', uncached: '/bench-uncached' }, autocannon, name: 'nuxt', duration, connections, rounds, store })
  const summary = {
    page: raw.page,
    store,
    durationS: raw.durationS,
    connections,
    rounds,
    loadAverage: { before: loadBefore.map((n) => Math.round(n * 100) / 100), after: loadavg().map((n) => Math.round(n * 100) / 100) },
    isrCache: raw.isrCache,
    nativeSwr: raw.map,
    uncached: raw.uncached,
    nuxtHitRpsVsNativeSwr: raw.nuxtHitRpsVsMap,
    nuxtHitRpsVsUncached: raw.nuxtHitRpsVsUncached,
    nuxtHitCpuVsNativeSwr: raw.nuxtHitCpuVsMap,
    nuxtHitCpuVsUncached: raw.nuxtHitCpuVsUncached,
    p99MsIsrCache: raw.p99MsIsrCache,
    p99MsNativeSwr: raw.p99MsMap,
    p99MsUncached: raw.p99MsUncached,
  }
  console.log(JSON.stringify(summary))
} finally {
  await server.stop()
}
