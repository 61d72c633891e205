/**
 * withIsrCache (adapters/next/config.ts): the config each Next phase gets, and the class it registers under
 * `next start`. Each case builds a small project in a temporary directory: the handler module, and the parts
 * of an installed `next` that the helper reads (its package.json and its IncrementalCache source, with or
 * without the global handler slot). That Next really reads the slot is shown end to end by the Next example,
 * which uses withIsrCache (test/next.e2e.test.ts) and by `npm run bench:next`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { withIsrCache } from '../adapters/next/index.js'

const SLOT = Symbol.for('@next/cache-handlers')
const slots = globalThis as unknown as Record<symbol, { FetchCache?: unknown } | undefined>
const SERVER = 'phase-production-server'
const BUILD = 'phase-production-build'
const context = { defaultConfig: {} }

const root = mkdtempSync(join(tmpdir(), 'isr-next-config-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
afterEach(() => {
  delete slots[SLOT]
  vi.restoreAllMocks()
})
/** The lines withIsrCache logs (console.log and console.warn), kept out of the test output. */
function logged(): string[] {
  const lines: string[] = []
  vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line))
  vi.spyOn(console, 'warn').mockImplementation((line: string) => void lines.push(line))
  return lines
}

let projects = 0
/** A project dir with a handler module and a fake installed Next of that version (reading the slot or not). */
function project({ version = '16.4.6', readsSlot = true, handler = 'export default class Handler { async get() { return null } }' } = {}) {
  const dir = join(root, `p${++projects}`)
  const nextDir = join(dir, 'node_modules', 'next')
  mkdirSync(join(nextDir, 'dist', 'server', 'lib', 'incremental-cache'), { recursive: true })
  writeFileSync(join(nextDir, 'package.json'), JSON.stringify({ name: 'next', version }))
  const source = readsSlot
    ? "const cacheHandlersSymbol = Symbol.for('@next/cache-handlers'); if (globalCacheHandler.FetchCache) CurCacheHandler = globalCacheHandler.FetchCache"
    : 'if (CurCacheHandler) this.cacheHandler = new CurCacheHandler({})'
  writeFileSync(join(nextDir, 'dist', 'server', 'lib', 'incremental-cache', 'index.js'), source)
  const handlerFile = join(dir, 'cache-handler.mjs')
  writeFileSync(handlerFile, handler)
  const useCacheFile = join(dir, 'use-cache-handler.mjs')
  writeFileSync(useCacheFile, 'export default {}')
  return { dir, handlerFile, useCacheFile }
}

describe('withIsrCache', () => {
  it('next build gets cacheHandler, cacheHandlers and cacheMaxMemorySize: 0; the rest of the config is kept', async () => {
    const { handlerFile, useCacheFile } = project()
    const config = await withIsrCache({ distDir: 'out', experimental: { useCache: true } }, { cacheHandler: handlerFile, cacheHandlers: { default: pathToFileURL(useCacheFile) } })(BUILD, context)
    expect(config).toEqual({ distDir: 'out', experimental: { useCache: true }, cacheMaxMemorySize: 0, cacheHandler: handlerFile, cacheHandlers: { default: useCacheFile } })
    expect(slots[SLOT]).toBeUndefined()
  })

  it('next start: the class goes into the slot Next reads, and the config names no cacheHandler', async () => {
    const { handlerFile } = project()
    const lines = logged()
    const config = await withIsrCache({ reactStrictMode: true }, { cacheHandler: new URL(pathToFileURL(handlerFile)) })(SERVER, context)
    expect(config).toEqual({ reactStrictMode: true, cacheMaxMemorySize: 0 })
    const { default: Handler } = (await import(pathToFileURL(handlerFile).href)) as { default: unknown }
    expect(slots[SLOT]?.FetchCache).toBe(Handler)
    // Next may load its config more than once in a process: the same class, no error, said once.
    await withIsrCache({}, { cacheHandler: handlerFile })(SERVER, context)
    expect(slots[SLOT]?.FetchCache).toBe(Handler)
    expect(lines).toEqual([`[isr-cache] cacheHandler registered with Next at start (${handlerFile}); Next does not import it again per request`])
  })

  it('next start names cacheHandler as usual when the installed Next does not read the slot, with registerAtStart: false, or with images.customCacheHandler', async () => {
    const lines = logged()
    const old = project({ readsSlot: false })
    expect((await withIsrCache({}, { cacheHandler: old.handlerFile })(SERVER, context)).cacheHandler).toBe(old.handlerFile)
    expect(lines).toEqual([expect.stringMatching(/the installed Next does not take a registered cacheHandler class: .* is named in the config/)])
    const current = project()
    expect((await withIsrCache({}, { cacheHandler: current.handlerFile, registerAtStart: false })(SERVER, context)).cacheHandler).toBe(current.handlerFile)
    const images = await withIsrCache({ images: { customCacheHandler: true } }, { cacheHandler: current.handlerFile })(SERVER, context)
    expect(images.cacheHandler).toBe(current.handlerFile)
    expect(slots[SLOT]).toBeUndefined()
  })

  it('leaves a class registered by someone else (a hosting platform) in place and names cacheHandler instead', async () => {
    const { handlerFile } = project()
    class PlatformCache {}
    slots[SLOT] = { FetchCache: PlatformCache }
    const lines = logged()
    const config = await withIsrCache({}, { cacheHandler: handlerFile })(SERVER, context)
    expect(lines).toEqual([expect.stringMatching(/another cacheHandler class is registered with Next already .*left in place/)])
    expect(config.cacheHandler).toBe(handlerFile)
    expect(slots[SLOT]?.FetchCache).toBe(PlatformCache)
  })

  it("Next 15.5 gets the 'use cache' handlers under experimental, next to the experimental options it had", async () => {
    const { handlerFile, useCacheFile } = project({ version: '15.5.29' })
    const config = await withIsrCache({ experimental: { useCache: true } }, { cacheHandler: handlerFile, cacheHandlers: { default: useCacheFile } })(BUILD, context)
    expect(config.experimental).toEqual({ useCache: true, cacheHandlers: { default: useCacheFile } })
    expect(config.cacheHandlers).toBeUndefined()
  })

  it('takes a config function, calls it with the phase, and keeps its cacheMaxMemorySize', async () => {
    const { handlerFile } = project()
    const seen: string[] = []
    const config = await withIsrCache(
      async (phase) => {
        seen.push(phase)
        return { cacheMaxMemorySize: 1024 }
      },
      { cacheHandler: handlerFile },
    )(BUILD, context)
    expect(seen).toEqual([BUILD])
    expect(config.cacheMaxMemorySize).toBe(1024)
  })

  it('says what to write instead: a relative path, a config that sets cacheHandler itself, a module without a class', async () => {
    expect(() => withIsrCache({}, { cacheHandler: './cache-handler.mjs' })).toThrow(/absolute path or a file: URL.*new URL\('\.\/cache-handler\.mjs', import\.meta\.url\)/)
    expect(() => withIsrCache({}, { cacheHandler: '' })).toThrow(/cacheHandler must be an absolute path/)
    expect(() => withIsrCache({}, undefined as never)).toThrow(/second argument/)
    const { handlerFile } = project()
    expect(() => withIsrCache({}, { cacheHandler: handlerFile, cacheHandlers: { default: 'x.mjs' } })).toThrow(/cacheHandlers\.default must be/)
    await expect(withIsrCache({ cacheHandler: '/x.mjs' }, { cacheHandler: handlerFile })(BUILD, context)).rejects.toThrow(/sets cacheHandler too/)
    await expect(withIsrCache({ cacheHandlers: {} }, { cacheHandler: handlerFile, cacheHandlers: { default: handlerFile } })(BUILD, context)).rejects.toThrow(/sets cacheHandlers too/)
    const plain = project({ handler: 'export default { get() {} }' })
    await expect(withIsrCache({}, { cacheHandler: plain.handlerFile })(SERVER, context)).rejects.toThrow(/must export the cacheHandler class as its default export.*object/)
    expect(slots[SLOT]).toBeUndefined()
  })
})
