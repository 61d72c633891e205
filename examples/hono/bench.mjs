#!/usr/bin/env node
/**
 * `npm run bench:http` (from the repository root; not part of CI): one server of this example (BENCH=1),
 * one page (/bench, about 10 KB of HTML), answered three ways by the same process:
 *
 *   isrCache  /bench through isr-cache/http, a HIT every time
 *   map       /__map/bench: the same bytes and headers from a plain Map in front of the app (the ceiling
 *             for any cache in this server)
 *   uncached  /__uncached/bench: the app renders it for every request
 *
 * Each is warmed for 2 s, then measured with autocannon; the three take turns, BENCH_ROUNDS times, in a
 * different order each round. Figures are medians over the rounds, ratios the medians of per-round ratios.
 * The last line printed is JSON: {"httpHitRpsVsMap", "httpHitRpsVsUncached", "p99MsIsrCache", "p99MsMap",
 * "p99MsUncached", …}, and the same ratios in server CPU time per request (`httpHitCpuVsMap`: map's CPU per
 * request ÷ isr-cache's, so ≥ 1 means isr-cache costs no more), which other load on a shared machine
 * distorts far less than requests per second.
 *
 * Environment: BENCH_DURATION (seconds per measurement, 5), BENCH_CONNECTIONS (50), BENCH_ROUNDS (5),
 * BENCH_PORT (3200), ISR_CACHE_STORE (default: in memory; e.g. redis://127.0.0.1:6379), ISR_CACHE_PREFIX
 * (isr-cache-bench-http).
 */
import { compareHits } from '../next/tooling/bench-compare.mjs'
import { exampleDirs, installExample, packLibrary, repoRoot, run, startServer } from '../next/tooling/prepare.mjs'

const dir = exampleDirs.hono
const duration = Number(process.env.BENCH_DURATION ?? 5)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
const rounds = Number(process.env.BENCH_ROUNDS ?? 5)
const port = Number(process.env.BENCH_PORT ?? 3200)

await run('npm', ['run', 'build'], { cwd: repoRoot })
await installExample(dir, await packLibrary(), { sentinel: 'hono' })
// autocannon is a devDependency of the example: importable once it is installed.
const { default: autocannon } = await import(new URL('./node_modules/autocannon/autocannon.js', import.meta.url).href)

const paths = { isrCache: '/bench', map: '/__map/bench', uncached: '/__uncached/bench' }

const server = await startServer(dir, {
  args: ['server.mjs'],
  port,
  ready: /listening on/,
  name: 'hono-bench',
  env: { PORT: String(port), BENCH: '1', NODE_ENV: 'production', ISR_CACHE_PREFIX: process.env.ISR_CACHE_PREFIX ?? 'isr-cache-bench-http' },
})

try {
  const summary = await compareHits({
    server,
    paths,
    autocannon,
    name: 'http',
    duration,
    connections,
    rounds,
    store: process.env.ISR_CACHE_STORE ?? 'memory',
  })
  console.log(JSON.stringify(summary))
} finally {
  await server.stop()
}
