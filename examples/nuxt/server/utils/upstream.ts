// The "CMS" the pages read (UPSTREAM_URL), and where they report each render so tests can count them.
// Without UPSTREAM_URL the pages render local content.
export interface Posts {
  version: string
  title: string
}

export async function readPosts(): Promise<Posts> {
  const upstream = process.env.UPSTREAM_URL
  if (!upstream) return { version: 'local', title: 'Hello from isr-cache' }
  return (await (await fetch(`${upstream}/posts`)).json()) as Posts
}

export async function reportRender(route: string): Promise<void> {
  const upstream = process.env.UPSTREAM_URL
  if (upstream) await fetch(`${upstream}/renders?route=${encodeURIComponent(route)}`, { method: 'POST' }).then((r) => r.arrayBuffer())
}

/** Waits at the upstream's gate `name` (a test holds renders there); at once without an upstream. */
export async function waitAtGate(name: string): Promise<void> {
  const upstream = process.env.UPSTREAM_URL
  if (upstream) await fetch(`${upstream}/gate?name=${encodeURIComponent(name)}`).then((r) => r.arrayBuffer())
}
