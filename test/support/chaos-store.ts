/**
 * A keyv store wrapper that misbehaves on demand: throws, stalls, or hands back damaged bytes. Used to prove
 * that the cache fails open and keeps serving the last good page.
 */
import { Keyv } from 'keyv'

export interface Chaos {
  /** Operations that throw. */
  failing: Set<'get' | 'set' | 'delete'>
  /** Milliseconds every operation stalls before answering. */
  delayMs: number
  /** Return damaged values from get. */
  corrupt: boolean
}

export function chaosStore() {
  const inner = new Map<string, unknown>()
  const chaos: Chaos = { failing: new Set(), delayMs: 0, corrupt: false }
  const pause = () => (chaos.delayMs > 0 ? new Promise((resolve) => setTimeout(resolve, chaos.delayMs)) : Promise.resolve())
  const store = {
    async get(key: string) {
      await pause()
      if (chaos.failing.has('get')) throw new Error('chaos: get failed')
      const value = inner.get(key)
      if (chaos.corrupt && typeof value === 'string') {
        // Damage the stored bytes (keyv keeps them as base64 inside JSON): flip bits near the end.
        return value.replace(/:base64:([A-Za-z0-9+/=]+)/, (_, base64: string) => {
          const bytes = Buffer.from(base64, 'base64')
          for (let i = Math.max(0, bytes.length - 8); i < bytes.length; i += 1) bytes[i] = bytes[i]! ^ 0x5a
          return `:base64:${bytes.toString('base64')}`
        })
      }
      return value
    },
    async set(key: string, value: unknown) {
      await pause()
      if (chaos.failing.has('set')) throw new Error('chaos: set failed')
      inner.set(key, value)
      return true
    },
    async delete(key: string) {
      await pause()
      if (chaos.failing.has('delete')) throw new Error('chaos: delete failed')
      return inner.delete(key)
    },
    async clear() {
      inner.clear()
    },
  }
  return { keyv: new Keyv({ store }), chaos, inner }
}
