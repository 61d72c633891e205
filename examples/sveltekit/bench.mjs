#!/usr/bin/env node
/**
 * `npm run bench:sveltekit` (from the repository root; not part of CI): one `node build` of this example
 * (BENCH=1), one page (/bench, about 10 KB of HTML), answered three ways by the same process:
 *
 *   isrCache  /bench through createIsrHandle, a HIT every time
 *   map       /__map/bench: the same bytes and headers from a plain Map in a handle hook in front of the
 *             app (the ceiling for any cache in a SvelteKit hook)
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
import { figures, round2, rpsRatio } from '../next/tooling/bench-stats.mjs'
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

const paths = { isrCache: '/bench', map: '/__map/bench', uncached: '/bench-uncached' }

function load(url, seconds) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections, duration: seconds }, (error, result) => (error ? reject(error) : resolve(result)))
  })
}

const server = await startSvelteKit({
  port,
  name: 'sveltekit-bench',
  env: { BENCH: '1', ISR_CACHE_PREFIX: process.env.ISR_CACHE_PREFIX ?? 'isr-cache-bench-sveltekit' },
})

async function measure(name) {
  const url = server.url + paths[name]
  const first = await fetch(url)
  await first.arrayBuffer()
  if (first.status !== 200) throw new Error(`${name}: ${url} answered ${first.status}`)
  await load(url, 2)
  const cpu = async () => {
    const usage = await (await fetch(`${server.url}/__map/__cpu`)).json()
    return usage.user + usage.system
  }
  const cpuBefore = await cpu()
  const result = await load(url, duration)
  const cpuUs = (await cpu()) - cpuBefore
  const after = await fetch(url)
  const body = await after.text()
  const summary = {
    rps: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    cpuUsPerRequest: Math.round((cpuUs / result.requests.total) * 10) / 10,
    errors: result.errors + result.timeouts + result.non2xx,
    bytes: Buffer.byteLength(body),
    cache: after.headers.get('x-isr-cache'),
  }
  console.log(`[bench] ${name}: ${JSON.stringify(summary)}`)
  if (summary.errors > 0) throw new Error(`${name}: errors: ${JSON.stringify(summary)}`)
  if (name === 'isrCache' && summary.cache !== 'HIT') throw new Error(`isrCache: not a HIT: ${JSON.stringify(summary)}`)
  return summary
}

try {
  const names = Object.keys(paths)
  const runs = Object.fromEntries(names.map((name) => [name, []]))
  for (let round = 0; round < rounds; round++) {
    for (const name of names.map((_, i) => names[(i + round) % names.length])) runs[name].push(await measure(name))
  }
  const fields = ['rps', 'p50Ms', 'p99Ms', 'cpuUsPerRequest']
  const ratio = (a, b) => rpsRatio(runs[a], runs[b])
  const isrCache = figures(runs.isrCache, fields)
  const map = figures(runs.map, fields)
  const uncached = figures(runs.uncached, fields)
  console.log(
    JSON.stringify({
      page: paths.isrCache,
      store: process.env.ISR_CACHE_STORE ?? 'memory',
      durationS: duration,
      connections,
      rounds,
      isrCache,
      map,
      uncached,
      sveltekitHitRpsVsMap: ratio('isrCache', 'map'),
      sveltekitHitRpsVsUncached: ratio('isrCache', 'uncached'),
      p99MsIsrCache: isrCache.p99Ms,
      p99MsMap: map.p99Ms,
      p99MsUncached: uncached.p99Ms,
      // The same comparison in server CPU time per request (less sensitive to other load on the machine).
      sveltekitHitCpuVsMap: round2(map.cpuUsPerRequest / isrCache.cpuUsPerRequest),
      sveltekitHitCpuVsUncached: round2(uncached.cpuUsPerRequest / isrCache.cpuUsPerRequest),
    }),
  )
} finally {
  await server.stop()
}
