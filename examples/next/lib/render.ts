import { randomUUID } from 'node:crypto'
import { request } from 'node:http'

export interface RenderInfo {
  /** ISO time of this render. */
  renderedAt: string
  /** Unique per render: the same id on two responses means the second came from the cache. */
  renderId: string
}

/**
 * Called once by every page per render. Reports the render to the upstream (so tests can count
 * regenerations) with `node:http`, which Next does not patch: a `fetch` here would be cached, or would
 * make the page dynamic.
 */
export async function recordRender(route: string): Promise<RenderInfo> {
  const info = { renderedAt: new Date().toISOString(), renderId: randomUUID() }
  const upstream = process.env.UPSTREAM_URL
  if (upstream) {
    await new Promise<void>((resolve) => {
      const req = request(`${upstream}/renders?route=${encodeURIComponent(route)}`, { method: 'POST', timeout: 2000 }, (res) => {
        res.resume()
        res.on('end', resolve)
      })
      // The count is for tests only: a page renders even when the upstream does not answer.
      req.on('error', () => resolve())
      req.on('timeout', () => req.destroy())
      req.end()
    })
  }
  return info
}
