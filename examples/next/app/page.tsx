export default function Home() {
  return (
    <>
      <h1>isr-cache × Next.js</h1>
      <p>
        Every page shows when it was rendered and a render id: reload, and the id stays the same while the page
        comes from the cache. The <code>x-nextjs-cache</code> response header says HIT, STALE or MISS.
      </p>
      <ul>
        <li><a href="/isr">/isr</a>: ISR, <code>revalidate = 5</code></li>
        <li><a href="/posts">/posts</a>: data from the upstream, fetch tag <code>posts</code></li>
        <li><a href="/blog/a">/blog/a</a>, <a href="/blog/b">/blog/b</a> (prerendered), <a href="/blog/c">/blog/c</a> (on demand)</li>
        <li><a href="/api/time">/api/time</a>: a cached route handler</li>
        <li><a href="/cached">/cached</a>: a <code>&apos;use cache&apos;</code> function, tag <code>cached-data</code></li>
        <li><a href="/actions">/actions</a>: <code>updateTag</code> from a server action</li>
        <li><a href="/legacy">/legacy</a>: Pages Router, <code>getStaticProps</code></li>
      </ul>
    </>
  )
}
