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
  /** Makes `GET /gate?name=<name>` wait until `openGate(name)`. */
  closeGate(name: string): void
  /** Answers every request waiting at the gate, and lets later ones through. */
  openGate(name: string): void
  /** How many requests are waiting at a closed gate now. */
  waiting(name: string): number
  close(): Promise<void>
}
export function startUpstream(options?: { port?: number; posts?: unknown }): Promise<Upstream>
