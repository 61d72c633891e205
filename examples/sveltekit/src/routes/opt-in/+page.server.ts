import { posts, reportRender, renderId } from '$lib/server/upstream'

// No route rule: the page opts in itself, for an hour, tagged "posts".
export async function load({ setHeaders }) {
  await reportRender('/opt-in')
  setHeaders({ 'cache-control': 's-maxage=3600', 'cache-tag': 'posts' })
  return { id: renderId(), content: await posts() }
}
