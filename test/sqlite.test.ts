/**
 * SQLite specifics, on a real file: entries survive a restart, values are BLOBs (no base64), expired rows
 * are swept, and two processes sharing the file see each other's writes and purges.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sqlite3 from 'sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { createIsrCache } from '../src/index.js'

const dir = mkdtempSync(join(tmpdir(), 'isr-sqlite-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const root = join(import.meta.dirname, '..')

function query(file: string, sql: string): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, (error) => {
      if (error) return reject(error)
      db.all(sql, (err, rows) => {
        db.close()
        if (err) reject(err)
        else resolve(rows as Array<Record<string, unknown>>)
      })
    })
  })
}

describe('SQLite store', () => {
  it('keeps entries across a restart, stored as BLOBs of about their raw size', async () => {
    const file = join(dir, 'restart.sqlite')
    const first = createIsrCache({ store: `sqlite://${file}` })
    const rscData = Buffer.alloc(50 * 1024, 3)
    await first.set('/page', { html: '<p>x</p>', rscData }, { tags: ['posts'] })
    await first.close()
    const rows = await query(file, "SELECT typeof(value) AS type, length(value) AS bytes FROM isr_cache_entries WHERE key LIKE '%/page'")
    expect(rows[0]?.type).toBe('blob')
    expect(Number(rows[0]?.bytes) / (rscData.length + 8)).toBeLessThan(1.01)
    const second = createIsrCache({ store: `sqlite://${file}` })
    const found = await second.get<{ rscData: Buffer }>('/page')
    expect(found?.status).toBe('hit')
    expect(Buffer.compare(found!.value.rscData, rscData)).toBe(0)
    await second.close()
  })

  it('sweeps expired rows when opened', async () => {
    const file = join(dir, 'sweep.sqlite')
    let time = 1_800_000_000_000
    const cache = createIsrCache({ store: `sqlite://${file}`, now: () => time })
    await cache.set('short', 1, { expire: 60 })
    await cache.set('long', 2)
    await cache.close()
    time += 120_000
    const reopened = createIsrCache({ store: `sqlite://${file}`, now: () => time })
    expect(await reopened.get('long')).toBeDefined()
    const rows = await query(file, 'SELECT key FROM isr_cache_entries')
    expect(rows.map((r) => String(r.key).split(':').at(-1))).toEqual(['long'])
    await reopened.close()
  })

  it('shares writes and purges between processes on one file', async () => {
    const file = join(dir, 'shared.sqlite')
    const cache = createIsrCache({ store: `sqlite://${file}`, tagCacheTtl: 0 })
    await cache.set('k', 'from parent', { tags: ['shared'] })
    // Another process (the built package) reads the entry, then hard-purges its tag.
    const child = `
      const { createIsrCache } = require(${JSON.stringify(join(root, 'dist/index.cjs'))})
      const cache = createIsrCache({ store: 'sqlite://' + ${JSON.stringify(file)} })
      ;(async () => {
        const found = await cache.get('k')
        await cache.revalidateTag('shared')
        await cache.set('k2', 'from child')
        await cache.close()
        process.stdout.write(JSON.stringify(found && found.value))
      })()`
    const output = execFileSync(process.execPath, ['-e', child], { encoding: 'utf8' })
    expect(JSON.parse(output)).toBe('from parent')
    expect(await cache.get('k')).toBeUndefined()
    expect((await cache.get('k2'))?.value).toBe('from child')
    await cache.close()
  })
})
