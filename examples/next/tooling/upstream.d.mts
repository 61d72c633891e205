export interface Upstream {
  /** http://127.0.0.1:<port> */
  readonly url: string
  /** Replaces the posts document the pages render. */
  setPosts(value: unknown): void
  /** How many renders of `route` were reported since the start (or the last reset). */
  renders(route: string): number
  /** When each of those renders was reported (epoch ms), in order. */
  renderTimes(route: string): number[]
  resetRenders(): void
  close(): Promise<void>
}
export function startUpstream(options?: { port?: number; posts?: unknown }): Promise<Upstream>
