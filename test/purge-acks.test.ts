/**
 * Issue 15: a purge (or delete) that has returned is visible everywhere. Worker processes on the BUILT
 * package share the real Redis server (or one SQLite file); each round purges on one instance and, the
 * moment the purge resolved (told over IPC, no sleep), reads on every other. 0 stale answers, with the
 * L1 tier and the tag-record cache on (their defaults). Then one instance frozen with SIGSTOP: the purge
 * returns within its bound, reports the missing acknowledgement, and the frozen instance serves nothing
 * purged once it resumes.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createIsrCache } from '../src/index.js'
import { REDIS_URL, dropPrefix, redisAvailable, uniquePrefix } from './support/redis.js'
import { call, spawnWorker, stopWorker, type Worker } from './support/workers.js'

interface Lookup {
  status: 'hit' | 'stale'
  value: unknown
}
interface PurgeReply {
  startedAt: number
  endedAt: number
  result: { acknowledged: number; live: number | undefined; complete: boolean }
}

const ROUNDS = 1000
const KINDS = ['hard tag', 'soft tag', 'path', 'delete'] as const
type Kind = (typeof KINDS)[number]

/** What a round writes, how it purges, and what a read right after the purge must answer. */
function roundPlan(kind: Kind, r: number) {
  const key = `k${r}`
  switch (kind) {
    case 'hard tag':
      return { key, entry: { tags: [`t${r}`] }, purge: { op: 'revalidateTag', tags: `t${r}` }, after: 'miss' }
    case 'soft tag':
      return { key, entry: { tags: [`t${r}`] }, purge: { op: 'revalidateTag', tags: `t${r}`, options: { expire: 600 } }, after: 'stale' }
    case 'path':
      return { key, entry: { path: `/p/${r}` }, purge: { op: 'revalidatePath', path: `/p/${r}` }, after: 'miss' }
    case 'delete':
      return { key, entry: {}, purge: { op: 'delete', key }, after: 'miss' }
  }
}

const statusOf = (found: Lookup | undefined) => (found === undefined ? 'miss' : found.status)

/**
 * `ROUNDS` rounds: set on the purger, warm every other instance (a hit: the entry in L1, its tag records
 * cached), purge on the purger, read on every other instance as soon as the purge resolved.
 */
async function purgeThenRead(workers: Worker[]): Promise<{ stale: string[]; incomplete: PurgeReply['result'][]; ms: number; purgeMs: number[] }> {
  const stale: string[] = []
  const incomplete: PurgeReply['result'][] = []
  const purgeMs: number[] = []
  const started = performance.now()
  for (let r = 0; r < ROUNDS; r++) {
    const purger = workers[r % workers.length]!
    const readers = workers.filter((w) => w !== purger)
    const plan = roundPlan(KINDS[r % KINDS.length]!, r)
    expect(await call(purger, { op: 'set', key: plan.key, value: r, options: plan.entry })).toBe(true)
    const warm = await Promise.all(readers.map((w) => call<Lookup | undefined>(w, { op: 'get', key: plan.key })))
    expect(warm.map(statusOf)).toEqual(readers.map(() => 'hit'))
    const purged = await call<PurgeReply>(purger, plan.purge)
    purgeMs.push(purged.endedAt - purged.startedAt)
    const after = await Promise.all(readers.map((w) => call<Lookup | undefined>(w, { op: 'get', key: plan.key })))
    after.forEach((found, i) => {
      if (statusOf(found) !== plan.after) stale.push(`round ${r} (${KINDS[r % KINDS.length]}): ${readers[i]!.name} answered ${statusOf(found)}, not ${plan.after}`)
    })
    if (purged.result?.complete !== true) incomplete.push(purged.result)
  }
  return { stale, incomplete, ms: performance.now() - started, purgeMs }
}

const p99 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * 0.99))]!

describe.runIf(redisAvailable)('purges acknowledged by every live instance (Redis)', () => {
  const workers: Worker[] = []
  const prefixes: string[] = []

  afterAll(async () => {
    await Promise.all(workers.map(stopWorker))
    for (const p of prefixes) await dropPrefix(p)
  })

  async function cluster(size: number, name: string): Promise<Worker[]> {
    while (workers.length < size) workers.push(await spawnWorker(`w${workers.length + 1}`))
    const on = workers.slice(0, size)
    const prefix = uniquePrefix(`acks-${name}`)
    prefixes.push(prefix)
    await Promise.all(on.map((w) => call(w, { op: 'init', options: { store: REDIS_URL, prefix } })))
    return on
  }

  for (const size of [2, 4]) {
    it(`${size} processes, ${ROUNDS} rounds of "purge on one, read on the others right after it resolved": 0 stale answers`, async () => {
      const on = await cluster(size, `rounds${size}`)
      const { stale, incomplete, ms, purgeMs } = await purgeThenRead(on)
      console.log(`[acks] ${size} processes: ${ROUNDS} rounds in ${ms.toFixed(0)} ms, ${stale.length} stale, ${incomplete.length} incomplete, purge call p99 ${p99(purgeMs).toFixed(2)} ms`)
      expect(stale).toEqual([])
      // A process of a loaded machine that is not scheduled for purgeAckTimeout makes a purge return
      // unacknowledged (and then catches up before serving: still 0 stale). Rare, never the rule.
      expect(incomplete.length).toBeLessThanOrEqual(ROUNDS / 100)
    }, 120_000)
  }

  it('one of 4 frozen (SIGSTOP) for 2 s: each purge returns within the bound, reports the missing ack, and the frozen one serves nothing purged when it resumes', async () => {
    const on = await cluster(4, 'frozen')
    const [purger, , , frozen] = on as [Worker, Worker, Worker, Worker]
    const plans = KINDS.map((kind, i) => ({ kind, ...roundPlan(kind, i) }))
    for (const plan of plans) {
      expect(await call(purger, { op: 'set', key: plan.key, value: plan.kind, options: plan.entry })).toBe(true)
      for (const w of on.slice(1)) expect(statusOf(await call<Lookup>(w, { op: 'get', key: plan.key }))).toBe('hit')
    }
    frozen.child.kill('SIGSTOP')
    const stoppedAt = performance.now()
    try {
      for (const plan of plans) {
        const purged = await call<PurgeReply>(purger, plan.purge)
        // A bound, not a benchmark: purgeAckTimeout (0.25 s) plus a generous second for a busy machine.
        expect(purged.endedAt - purged.startedAt).toBeLessThan(250 + 1000)
        expect(purged.result).toEqual({ acknowledged: 2, live: 3, complete: false })
      }
      // The freeze lasts 2 s whatever the purges took: this is the scenario, not a wait for a race.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 2000 - (performance.now() - stoppedAt))))
    } finally {
      frozen.child.kill('SIGCONT')
    }
    const answers = await Promise.all(plans.map((plan) => call<Lookup | undefined>(frozen, { op: 'get', key: plan.key })))
    expect(answers.map(statusOf)).toEqual(plans.map((plan) => plan.after))
    // And it is back in the cluster: the next purge is acknowledged by all three others.
    const again = roundPlan('hard tag', 99)
    expect(await call(purger, { op: 'set', key: again.key, value: 1, options: again.entry })).toBe(true)
    expect(statusOf(await call<Lookup>(frozen, { op: 'get', key: again.key }))).toBe('hit')
    expect((await call<PurgeReply>(purger, again.purge)).result).toEqual({ acknowledged: 3, live: 3, complete: true })
    expect(statusOf(await call<Lookup>(frozen, { op: 'get', key: again.key }))).toBe('miss')
  }, 60_000)

  it('the purging instance itself stalled past purgeAckTimeout (a long render): the acknowledgement that came meanwhile is counted, complete', async () => {
    const [other] = (await cluster(1, 'publisher-stall')) as [Worker]
    const purger = createIsrCache({ store: REDIS_URL, prefix: prefixes.at(-1)! })
    try {
      // Both subscribed: a purge is acknowledged by the other process.
      expect(await purger.revalidateTag('warm-up')).toEqual({ acknowledged: 1, live: 1, complete: true })
      // The other instance is frozen while the purge is published, and resumed only once this process is
      // busy: it holds its loop for 600 ms (in the check phase, as a render answering a request would), past
      // the 250 ms bound. So the acknowledgement can only come during the stall, and waits in the socket.
      other.child.kill('SIGSTOP')
      let stalled = false
      const purged = purger.revalidateTag('stalled')
      setTimeout(() => {
        setImmediate(() => {
          other.child.kill('SIGCONT')
          const until = performance.now() + 600
          while (performance.now() < until) {
            // busy
          }
          stalled = true
        })
      }, 100)
      const result = await purged
      expect(stalled).toBe(true)
      expect(result).toEqual({ acknowledged: 1, live: 1, complete: true })
    } finally {
      other.child.kill('SIGCONT')
      await purger.close()
    }
  }, 30_000)
})

describe('purges on one SQLite file shared by processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'isr-acks-'))
  const workers: Worker[] = []

  afterAll(async () => {
    await Promise.all(workers.map(stopWorker))
    rmSync(dir, { recursive: true, force: true })
  })

  it(`2 processes, ${ROUNDS} rounds of "purge on one, read on the other right after it resolved": 0 stale answers`, async () => {
    workers.push(await spawnWorker('s1'), await spawnWorker('s2'))
    const store = `sqlite://${join(dir, 'shared.sqlite')}`
    for (const w of workers) await call(w, { op: 'init', options: { store } })
    const { stale, incomplete, ms } = await purgeThenRead(workers)
    console.log(`[acks] SQLite, 2 processes: ${ROUNDS} rounds in ${ms.toFixed(0)} ms, ${stale.length} stale`)
    expect(stale).toEqual([])
    expect(incomplete).toEqual([])
  }, 120_000)
})
