// What a page renders: called by the pages during their server render (never cached itself). Each call
// is one render of `route`, reported to the upstream.
export default defineEventHandler(async (event) => {
  const query = getQuery(event)
  const route = String(query.route ?? '/')
  await reportRender(route)
  const posts = await readPosts()
  if (query.gate) await waitAtGate(String(query.gate))
  return {
    id: Math.random().toString(36).slice(2, 10),
    at: new Date().toISOString(),
    page: query.page === undefined ? '1' : String(query.page),
    posts,
    revalidate: Number(process.env.REVALIDATE ?? 10),
  }
})
