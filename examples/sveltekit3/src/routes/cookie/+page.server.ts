import { posts, reportRender, renderId } from '#lib/server/upstream.ts'

// Sets a cookie, and shows what Cookie header its render saw: a cached render must see none, and its
// Set-Cookie must never be replayed to other visitors.
export async function load({ cookies, request }) {
  await reportRender('/cookie')
  const id = renderId()
  cookies.set('visitor', id, { path: '/', httpOnly: true, sameSite: 'lax' })
  return { id, content: await posts(), seen: request.headers.get('cookie') ?? 'none' }
}
