#!/usr/bin/env node
/**
 * `npm run bench:next` (from the repository root; not part of CI): the same build of this app, the same
 * page, served by one `next start` at a time, with each of these as its cache:
 *
 *   builtin       Next's own cache (ISR_CACHE_DISABLED=1: next.config.mjs leaves out cacheHandler/cacheHandlers)
 *   map           a do-nothing Map as the cacheHandler (tooling/map-handler.mjs), set up as isr-cache is
 *                 (withIsrCache): what Next itself spends per request on a handler whose lookup answers at once
 *   isrCache      isr-cache on Redis (REDIS_URL, default redis://127.0.0.1:6379) with its L1 tier, as the
 *                 example's next.config.mjs sets it up (withIsrCache: the class registered at `next start`)
 *   isrCacheImported  isr-cache with withIsrCache's registerAtStart: false,
 *                 i.e. `cacheHandler` named in the config, which Next imports again on every request
 *   fortedigital  @fortedigital/nextjs-cache-handler, its README's production set-up (LRU + redis-strings)
 *   trieb         @trieb.work/nextjs-turbo-redis-cache, its README's "Option A" (the package as cacheHandler)
 *
 * The peers are installed on first use into tooling/peers/<name>/ (pinned, each with its own lockfile;
 * CI never installs them). Every handler gets the same Redis and a key prefix of its own for this run
 * (dropped at the end). trieb runs with SKIP_KEYSPACE_CONFIG_CHECK=true: the bench does not turn on
 * keyspace notifications in a Redis others use (they serve its in-memory sync, not a cache hit).
 *
 * Per server: one page that is not measured is rendered first (a new /blog/bench-warm-… slug: a Next server
 * that has rendered anything runs with Node's promise hooks on from then on, which costs every later
 * request some 30 µs; every production server has rendered something). Then the measured page is
 * requested until it is a HIT, loaded for 2 s, and measured with autocannon (BENCH_CONNECTIONS). Meanwhile
 * the handler's `get` calls are counted (tooling/counting-handler.mjs): Next's response cache shares one
 * lookup among the requests for a page that arrive while it is in flight, so lookups per request show how
 * much was shared. Then the one-connection pass: BENCH_LATENCY_REQUESTS requests one after the other on
 * one keep-alive connection, timed in µs (nothing to share: this is the cost of one request). The set-ups
 * take turns, BENCH_ROUNDS times, in a different order each round. Figures are medians over the rounds;
 * ratios are medians of the per-round ratios (these machines are noisy: neighbours in time are the fairest
 * comparison). The load average is printed with every measurement.
 *
 * The last line printed is JSON:
 *   {"nextHitRpsVsBuiltin", "nextHitRpsVsFortedigital", "nextHitRpsVsTrieb" (isr-cache's req/s ÷ theirs),
 *    "nextP99VsBuiltin" (isr-cache's p99 ÷ built-in's), "nextOneConnLatencyVsBuiltin" (median latency at
 *    one connection, isr-cache ÷ built-in, from a last pass where the servers run side by side and take
 *    single requests in turn), "lookupsPerRequest": {map, isrCache, fortedigital, trieb}, …}
 *
 * Environment: BENCH_PATH (/blog/a, a prerendered page with revalidate 3600, so every request is a HIT),
 * BENCH_DURATION (seconds per measurement, 10), BENCH_CONNECTIONS (50), BENCH_ROUNDS (3),
 * BENCH_LATENCY_REQUESTS (2000), BENCH_SETUPS (comma-separated subset of the set-ups above), REDIS_URL.
 */
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { loadavg } from 'node:os'
import { basename, join } from 'node:path'
import { median, figures, round2, rpsRatio } from './tooling/bench-stats.mjs'
import { exampleDirs, freePort, prepareApp, run, startNext } from './tooling/prepare.mjs'
import { startUpstream } from './tooling/upstream.mjs'

const dir = exampleDirs.next
const path = process.env.BENCH_PATH ?? '/blog/a'
const duration = Number(process.env.BENCH_DURATION ?? 10)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const latencyRequests = Number(process.env.BENCH_LATENCY_REQUESTS ?? 2000)
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const runId = `${process.pid}-${Date.now().toString(36)}`

/** Each set-up: the environment of its `next start`, and the Redis keys it writes (dropped at the end). */
const allSetups = {
  builtin: { env: { ISR_CACHE_DISABLED: '1' } },
  // The 'use cache' handler stays isr-cache on Redis in every custom set-up (the page does not use it).
  map: { env: { ISR_CACHE_BENCH_HANDLER: 'map' } },
  isrCache: { env: {} },
  // isr-cache named as cacheHandler in the config (withIsrCache's registerAtStart: false).
  isrCacheImported: { env: { ISR_CACHE_NEXT_REGISTER_AT_START: '0' } },
  // Not run unless named in BENCH_SETUPS: isr-cache with batchPageLookups: false.
  isrCacheUnbatched: { optional: true, env: { ISR_CACHE_BENCH_HANDLER: 'unbatched' } },
  fortedigital: {
    peer: 'fortedigital',
    env: { ISR_CACHE_BENCH_HANDLER: 'fortedigital', BENCH_PEER_REDIS_URL: redisUrl, BENCH_PEER_PREFIX: `isr-cache-bench-next-fortedigital-${runId}:` },
    keys: { db: 0, prefix: `isr-cache-bench-next-fortedigital-${runId}:` },
  },
  trieb: {
    peer: 'trieb',
    // Its default database outside Vercel production is 1.
    env: { ISR_CACHE_BENCH_HANDLER: 'trieb', REDIS_URL: redisUrl, KEY_PREFIX: `isr-cache-bench-next-trieb-${runId}:`, SKIP_KEYSPACE_CONFIG_CHECK: 'true' },
    keys: { db: 1, prefix: `isr-cache-bench-next-trieb-${runId}:` },
  },
}
const isrPrefix = `isr-cache-bench-next-${runId}`
for (const setup of Object.values(allSetups)) setup.env = { ISR_CACHE_STORE: redisUrl, ISR_CACHE_PREFIX: isrPrefix, ...setup.env }
const defaults = Object.keys(allSetups).filter((name) => !allSetups[name].optional)
const chosen = (process.env.BENCH_SETUPS ?? defaults.join(',')).split(',').map((name) => name.trim())
for (const name of chosen) if (!(name in allSetups)) throw new Error(`BENCH_SETUPS: unknown set-up "${name}" (known: ${Object.keys(allSetups).join(', ')})`)
const setups = Object.fromEntries(chosen.map((name) => [name, allSetups[name]]))

/** npm install in tooling/peers/<name>/ (its lockfile, legacy-peer-deps: Next is the app's), once per lockfile. */
async function installPeer(name) {
  const peerDir = join(dir, 'tooling', 'peers', name)
  const marker = join(peerDir, 'node_modules', '.isr-cache-bench-install')
  const lock = readFileSync(join(peerDir, 'package-lock.json'), 'utf8')
  if (existsSync(marker) && readFileSync(marker, 'utf8') === lock) return
  await run('npm', ['install', '--no-audit', '--no-fund'], { cwd: peerDir })
  writeFileSync(marker, lock)
}

await prepareApp(dir, { buildLibrary: true })
for (const setup of Object.values(setups)) if (setup.peer !== undefined) await installPeer(setup.peer)
// autocannon and @redis/client are dependencies of the example: importable once prepareApp has installed them.
const { default: autocannon } = await import('autocannon')
const { createClient } = await import('@redis/client')
const upstream = await startUpstream()

const load = (url, seconds, conns = connections) =>
  new Promise((resolve, reject) => {
    autocannon({ url, connections: conns, duration: seconds }, (error, result) => (error ? reject(error) : resolve(result)))
  })

async function fetchOnce(url) {
  const response = await fetch(url)
  await response.arrayBuffer()
  return response
}

/** One GET of `url` on `agent`, timed from the call to the end of the body, in µs. */
function timedRequest(url, agent) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    request(url, { agent }, (response) => {
      response.on('data', () => {})
      response.on('end', () => resolve(Number(process.hrtime.bigint() - started) / 1000))
      response.on('error', reject)
    })
      .on('error', reject)
      .end()
  })
}

/** Median and p99 of `count` sequential requests on one keep-alive connection, in µs. */
async function oneConnection(url, count) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  try {
    for (let i = 0; i < Math.min(200, count); i++) await timedRequest(url, agent)
    const times = []
    for (let i = 0; i < count; i++) times.push(await timedRequest(url, agent))
    times.sort((a, b) => a - b)
    return { medianUs: Math.round(median(times)), p99Us: Math.round(times[Math.floor(times.length * 0.99)]) }
  } finally {
    agent.destroy()
  }
}

/**
 * The one-connection pass again, side by side: the named set-ups run at once (each having rendered a page,
 * so that all are in the same state: see the warm-up in `measure`), and single requests go to each in turn,
 * on a keep-alive connection of its own. The machine's speed drifts from one round to the next by more
 * than the difference between set-ups; interleaved request by request, the drift falls on all alike.
 * Medians in µs, by set-up.
 */
async function interleavedOneConnection(names) {
  const servers = []
  const agents = []
  try {
    for (const name of names) {
      const server = await startNext(dir, { port: await freePort(), name: `${name}-interleaved`, env: { UPSTREAM_URL: upstream.url, ...setups[name].env } })
      servers.push(server)
      agents.push(new Agent({ keepAlive: true, maxSockets: 1 }))
      await fetchOnce(`${server.url}/blog/bench-warm-${process.pid}-${++warmPages}`)
      let cache = null
      for (let i = 0; i < 50 && cache !== 'HIT'; i++) cache = (await fetchOnce(server.url + path)).headers.get('x-nextjs-cache')
      if (cache !== 'HIT') throw new Error(`${name}: ${path} is not a HIT after 50 requests (interleaved pass)`)
    }
    const urls = servers.map((server) => server.url + path)
    for (let k = 0; k < 200; k++) for (let i = 0; i < urls.length; i++) await timedRequest(urls[i], agents[i])
    const times = urls.map(() => [])
    for (let k = 0; k < latencyRequests; k++) {
      for (let j = 0; j < urls.length; j++) {
        const i = (j + k) % urls.length // who goes first turns too
        times[i].push(await timedRequest(urls[i], agents[i]))
      }
    }
    return Object.fromEntries(names.map((name, i) => [name, Math.round(median(times[i].sort((a, b) => a - b)))]))
  } finally {
    for (const agent of agents) agent.destroy()
    for (const server of servers) await server.stop()
  }
}

/** CPU time (user + system, µs) of every process in the server's process group, from /proc (Linux). */
function groupCpuUs(pgid) {
  let ticks = 0
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue // exited meanwhile
    }
    // After the command name (in parentheses, may contain spaces): state ppid pgrp … utime(14) stime(15).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(fields[2]) === pgid) ticks += Number(fields[11]) + Number(fields[12])
  }
  return (ticks * 1e6) / 100 // USER_HZ is 100 on Linux
}

const load1 = () => round2(loadavg()[0])
let warmPages = 0

async function measure(name, setup) {
  const counted = name !== 'builtin'
  const counterPort = counted ? await freePort() : undefined
  const env = { UPSTREAM_URL: upstream.url, ...setup.env, ...(counted ? { ISR_CACHE_COUNT_GETS_PORT: String(counterPort) } : {}) }
  const server = await startNext(dir, { port: await freePort(), name, env })
  const gets = async (method = 'GET') => (await (await fetch(`http://127.0.0.1:${counterPort}/`, { method })).json()).gets
  try {
    const warm = await fetchOnce(`${server.url}/blog/bench-warm-${process.pid}-${++warmPages}`)
    if (warm.status !== 200) throw new Error(`${name}: the warm-up render answered ${warm.status}\n${server.output()}`)
    const url = server.url + path
    // Until the page is cached (the first request may render it), then a short warm-up run.
    let cache = null
    for (let i = 0; i < 50 && cache !== 'HIT'; i++) cache = (await fetchOnce(url)).headers.get('x-nextjs-cache')
    if (cache !== 'HIT') throw new Error(`${name}: ${path} is not a HIT after 50 requests (x-nextjs-cache: ${cache})\n${server.output()}`)
    await load(url, 2)
    if (counted) await gets('DELETE')
    const loadBefore = load1()
    const cpuBefore = groupCpuUs(server.pid)
    const result = await load(url, duration)
    const cpuUs = groupCpuUs(server.pid) - cpuBefore
    const lookups = counted ? await gets() : undefined
    const latency = await oneConnection(url, latencyRequests)
    const summary = {
      rps: Math.round(result.requests.average),
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      cpuUsPerRequest: Math.round(cpuUs / result.requests.total),
      lookupsPerRequest: lookups === undefined ? null : Math.round((lookups / result.requests.total) * 1000) / 1000,
      oneConnMedianUs: latency.medianUs,
      oneConnP99Us: latency.p99Us,
      // Not answered in autocannon's 10 s (an overloaded machine), or not a 2xx: the figures are then suspect.
      timeouts: result.timeouts,
      errors: result.errors - result.timeouts + result.non2xx,
      cacheAfter: (await fetchOnce(url)).headers.get('x-nextjs-cache'),
      loadAverage: [loadBefore, load1()],
    }
    console.log(`[bench] ${name}: ${JSON.stringify(summary)}`)
    if (summary.timeouts > 0) console.warn(`[bench] ${name}: ${summary.timeouts} requests timed out: the machine is overloaded (load average ${summary.loadAverage.join(' → ')}); these figures are not worth much`)
    if (summary.errors > 0 || summary.cacheAfter !== 'HIT') throw new Error(`${name}: errors or not a HIT: ${JSON.stringify(summary)}\n${server.output().slice(-3000)}`)
    return summary
  } finally {
    await server.stop()
  }
}

/** The median over the rounds of a[field] ÷ b[field] in the same round. */
const ratioOf = (a, b, field) => (a === undefined || b === undefined ? null : round2(median(a.map((run, i) => run[field] / b[i][field]))))

async function dropKeys() {
  const targets = [{ db: 0, prefix: isrPrefix }, ...Object.values(setups).flatMap((setup) => (setup.keys ? [setup.keys] : []))]
  for (const { db, prefix } of targets) {
    const client = createClient({ url: redisUrl, database: db })
    client.on('error', () => {})
    await client.connect()
    try {
      for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length > 0) await client.unlink(keys)
    } finally {
      await client.quit()
    }
  }
}

try {
  const runs = Object.fromEntries(Object.keys(setups).map((name) => [name, []]))
  for (let round = 0; round < rounds; round++) {
    // A different order each round, so that no set-up always runs first (or right after another).
    const names = Object.keys(setups)
    const order = names.map((_, i) => names[(i + round) % names.length])
    for (const name of order) runs[name].push(await measure(name, setups[name]))
  }
  const has = (name) => runs[name] !== undefined
  const ratio = (a, b) => (has(a) && has(b) ? rpsRatio(runs[a], runs[b]) : null)
  const sideBySide = ['builtin', 'map', 'isrCache', 'isrCacheImported', 'isrCacheUnbatched'].filter(has)
  const interleaved = has('builtin') && has('isrCache') ? await interleavedOneConnection(sideBySide) : undefined
  if (interleaved !== undefined) console.log(`[bench] one connection, interleaved request by request (median µs): ${JSON.stringify(interleaved)}`)
  const summary = Object.fromEntries(
    Object.entries(runs).map(([name, list]) => {
      const fields = ['rps', 'p50Ms', 'p99Ms', 'cpuUsPerRequest', 'oneConnMedianUs', 'oneConnP99Us', ...(name === 'builtin' ? [] : ['lookupsPerRequest'])]
      const figure = figures(list, fields)
      if (figure.lookupsPerRequest !== undefined) figure.lookupsPerRequest = Math.round(figure.lookupsPerRequest * 1000) / 1000
      return [name, figure]
    }),
  )
  console.log(
    JSON.stringify({
      page: path,
      durationS: duration,
      connections,
      rounds,
      loadAverage: loadavg().map(round2),
      ...summary,
      nextHitRpsVsBuiltin: ratio('isrCache', 'builtin'),
      nextHitRpsVsFortedigital: ratio('isrCache', 'fortedigital'),
      nextHitRpsVsTrieb: ratio('isrCache', 'trieb'),
      nextP99VsBuiltin: ratioOf(runs.isrCache, runs.builtin, 'p99Ms'),
      // From the interleaved pass (see interleavedOneConnection); the per-round ratio is kept beside it.
      nextOneConnLatencyVsBuiltin: interleaved === undefined ? null : round2(interleaved.isrCache / interleaved.builtin),
      oneConnInterleavedUs: interleaved ?? null,
      nextOneConnLatencyVsBuiltinByRound: ratioOf(runs.isrCache, runs.builtin, 'oneConnMedianUs'),
      // Server CPU time per request, isr-cache ÷ built-in (other load on the machine distorts it less).
      nextHitCpuVsBuiltin: ratioOf(runs.isrCache, runs.builtin, 'cpuUsPerRequest'),
      lookupsPerRequest: Object.fromEntries(Object.entries(summary).flatMap(([name, figure]) => (name === 'builtin' ? [] : [[name, figure.lookupsPerRequest]]))),
      p99MsIsrCache: summary.isrCache?.p99Ms ?? null,
      p99MsBuiltin: summary.builtin?.p99Ms ?? null,
      mapHandlerRpsVsBuiltin: ratio('map', 'builtin'),
      nextHitRpsVsMapHandler: ratio('isrCache', 'map'),
      batchingRpsGain: ratio('isrCache', 'isrCacheUnbatched'),
      // One connection, interleaved: isr-cache registered at start ÷ named in the config (imported per request).
      registerAtStartLatencyRatio: interleaved?.isrCacheImported === undefined ? null : round2(interleaved.isrCache / interleaved.isrCacheImported),
    }),
  )
} finally {
  await upstream.close()
  await dropKeys().catch((error) => console.warn(`[bench] could not drop this run's Redis keys: ${error.message}`))
  // The built-in cache writes the warm-up pages into the build output (.next/server/route-cache/…): leave
  // the build as it was.
  const output = join(dir, '.next', 'server')
  for (const file of existsSync(output) ? readdirSync(output, { recursive: true }) : []) {
    if (basename(file).startsWith('bench-warm-')) rmSync(join(output, file), { recursive: true, force: true })
  }
}
