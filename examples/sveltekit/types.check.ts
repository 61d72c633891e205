// Type-checked by test/sveltekit.e2e.test.ts against the installed @sveltejs/kit and isr-cache tarball:
// createIsrHandle returns a Kit Handle that composes with sequence(); withIsr keeps a RequestHandler one.
import type { Handle, RequestHandler } from '@sveltejs/kit'
import { sequence } from '@sveltejs/kit/hooks'
import { createIsrCache } from 'isr-cache'
import { createIsrHandle, withIsr } from 'isr-cache/sveltekit'

const cache = createIsrCache()
const next: Handle = async ({ event, resolve }) => resolve(event)
export const handle: Handle = sequence(createIsrHandle({ cache, routes: { '/': { revalidate: 60 } } }), next)
const endpoint: RequestHandler = async ({ url }) => new Response(url.pathname)
export const GET: RequestHandler = withIsr(endpoint, { cache, revalidate: 60, tags: ['posts'] })
export const inline = withIsr(async ({ url, params }) => new Response(`${url.pathname} ${params.slug ?? ''}`), { cache, revalidate: 60 })
