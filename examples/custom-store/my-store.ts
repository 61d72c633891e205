/** A keyv store of your own: here in process, with expiry. Any backend works the same way. */
export class MyStore {
  readonly #entries = new Map<string, { value: unknown; expiresAt: number | undefined }>()

  async get(key: string): Promise<unknown> {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAt !== undefined && Date.now() >= entry.expiresAt) {
      this.#entries.delete(key)
      return undefined
    }
    return entry.value
  }

  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    this.#entries.set(key, { value, expiresAt: ttl ? Date.now() + ttl : undefined })
    return true
  }

  async delete(key: string): Promise<boolean> {
    return this.#entries.delete(key)
  }

  async clear(): Promise<void> {
    this.#entries.clear()
  }
}
