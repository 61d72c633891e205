/**
 * The example of a user's own backend: a keyv store that keeps one file per key in a directory, with
 * expiry. It implements only the keyv storage contract (get, set, delete, clear); isr-cache reaches it
 * through its generic driver.
 */
import { createHash } from 'node:crypto'
import { mkdir, readFile, readdir, rm, writeFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { EventEmitter } from 'node:events'

export class FileStore extends EventEmitter {
  namespace?: string
  constructor(private readonly dir: string) {
    super()
  }

  #file(key: string): string {
    return join(this.dir, createHash('sha256').update(key).digest('hex'))
  }

  async get(key: string): Promise<unknown> {
    try {
      const record = JSON.parse(await readFile(this.#file(key), 'utf8')) as { value: unknown; expiresAt: number | null }
      if (record.expiresAt !== null && Date.now() >= record.expiresAt) {
        await this.delete(key)
        return undefined
      }
      return record.value
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
  }

  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    await mkdir(this.dir, { recursive: true })
    const file = this.#file(key)
    // Write then rename: a reader sees the old file or the new one, never half of one.
    const temporary = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`
    await writeFile(temporary, JSON.stringify({ value, expiresAt: ttl ? Date.now() + ttl : null }))
    await rename(temporary, file)
    return true
  }

  async delete(key: string): Promise<boolean> {
    try {
      await rm(this.#file(key))
      return true
    } catch {
      return false
    }
  }

  async clear(): Promise<void> {
    for (const name of await readdir(this.dir).catch(() => [])) await rm(join(this.dir, name), { force: true })
  }
}
