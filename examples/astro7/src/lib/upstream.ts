// The "CMS" the pages read (UPSTREAM_URL), and where they report each render so tests can count them.
// Without UPSTREAM_URL the pages render local content.
import { randomBytes } from 'node:crypto'

const upstream = process.env.UPSTREAM_URL

export interface Posts {
  version: string
  title: string
}

export async function posts(): Promise<Posts> {
  if (!upstream) return { version: 'local', title: 'Hello from isr-cache' }
  const response = await fetch(`${upstream}/posts`)
  return (await response.json()) as Posts
}

export async function reportRender(route: string): Promise<void> {
  if (upstream) await fetch(`${upstream}/renders?route=${encodeURIComponent(route)}`, { method: 'POST' }).then((r) => r.arrayBuffer())
}

/** Waits at the upstream's gate `name` (a test holds a render there); at once without an upstream. */
export async function gate(name: string): Promise<void> {
  if (upstream) await fetch(`${upstream}/gate?name=${encodeURIComponent(name)}`).then((r) => r.arrayBuffer())
}

export const renderId = () => randomBytes(6).toString('hex')
