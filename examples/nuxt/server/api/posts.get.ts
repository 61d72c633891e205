// A server route cached by its route rule (`'/api/posts': { isr: 300 }`), tagged `posts` by its Cache-Tag.
export default defineEventHandler(async (event) => {
  await reportRender('/api/posts')
  setResponseHeader(event, 'cache-tag', 'posts')
  return { posts: await readPosts(), id: Math.random().toString(36).slice(2, 10) }
})
