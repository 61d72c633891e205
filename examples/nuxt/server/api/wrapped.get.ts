// One server route wrapped by defineIsrEventHandler (auto-imported): cached 300 s, tagged `posts`.
export default defineIsrEventHandler(
  async () => {
    await reportRender('/api/wrapped')
    return { posts: await readPosts(), id: Math.random().toString(36).slice(2, 10) }
  },
  { revalidate: 300, tags: ['posts'] },
)
