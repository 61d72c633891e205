/**
 * The three-way page benchmark of bench:http and bench:sveltekit: one server answers the same page as an
 * isr-cache HIT (`isrCache`), from a plain Map in front of the app (`map`, the ceiling) and rendered every
 * time (`uncached`). Each is warmed for 2 s, then measured with autocannon; the three take turns, `rounds`
 * times, in a different order each round. The server reports its CPU time at `/__map/__cpu`.
 */
import { figures, round2, rpsRatio } from './bench-stats.mjs'

/**
 * Runs the rounds and returns the JSON summary; `name` prefixes the ratios (`<name>HitRpsVsMap`,
 * `<name>HitRpsVsUncached`, `<name>HitCpuVsMap`, `<name>HitCpuVsUncached`).
 */
export async function compareHits({ server, servers = {}, cpuPath = '/__map/__cpu', paths, autocannon, name, duration, connections, rounds, store }) {
  // `servers`: a server per setup where they differ (a build-time choice, as Astro's cache provider is).
  const serverOf = (setup) => servers[setup] ?? server
  const load = (url, seconds) =>
    new Promise((resolve, reject) => {
      autocannon({ url, connections, duration: seconds }, (error, result) => (error ? reject(error) : resolve(result)))
    })
  const cpu = async (setup) => {
    const usage = await (await fetch(`${serverOf(setup).url}${cpuPath}`)).json()
    return usage.user + usage.system
  }

  async function measure(setup) {
    const url = serverOf(setup).url + paths[setup]
    const first = await fetch(url)
    await first.arrayBuffer()
    if (first.status !== 200) throw new Error(`${setup}: ${url} answered ${first.status}`)
    await load(url, 2)
    const cpuBefore = await cpu(setup)
    const result = await load(url, duration)
    const cpuUs = (await cpu(setup)) - cpuBefore
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
    console.log(`[bench] ${setup}: ${JSON.stringify(summary)}`)
    if (summary.errors > 0) throw new Error(`${setup}: errors: ${JSON.stringify(summary)}`)
    if (setup === 'isrCache' && summary.cache !== 'HIT') throw new Error(`isrCache: not a HIT: ${JSON.stringify(summary)}`)
    return summary
  }

  const setups = Object.keys(paths)
  const runs = Object.fromEntries(setups.map((setup) => [setup, []]))
  for (let round = 0; round < rounds; round++) {
    for (const setup of setups.map((_, i) => setups[(i + round) % setups.length])) runs[setup].push(await measure(setup))
  }
  const fields = ['rps', 'p50Ms', 'p99Ms', 'cpuUsPerRequest']
  const isrCache = figures(runs.isrCache, fields)
  const map = figures(runs.map, fields)
  const uncached = figures(runs.uncached, fields)
  return {
    page: paths.isrCache,
    store,
    durationS: duration,
    connections,
    rounds,
    isrCache,
    map,
    uncached,
    [`${name}HitRpsVsMap`]: rpsRatio(runs.isrCache, runs.map),
    [`${name}HitRpsVsUncached`]: rpsRatio(runs.isrCache, runs.uncached),
    p99MsIsrCache: isrCache.p99Ms,
    p99MsMap: map.p99Ms,
    p99MsUncached: uncached.p99Ms,
    // The same comparison in server CPU time per request (less sensitive to other load on the machine).
    [`${name}HitCpuVsMap`]: round2(map.cpuUsPerRequest / isrCache.cpuUsPerRequest),
    [`${name}HitCpuVsUncached`]: round2(uncached.cpuUsPerRequest / isrCache.cpuUsPerRequest),
  }
}
