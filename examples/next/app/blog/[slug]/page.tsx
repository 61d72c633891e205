import Link from 'next/link'
import { HydratedMarker } from '../../../lib/hydrated'
import { Markers } from '../../../lib/markers'
import { recordRender } from '../../../lib/render'

export const revalidate = 3600
// Slugs other than a and b render on their first request, then are cached like the prerendered ones.
export const dynamicParams = true

export function generateStaticParams() {
  return [{ slug: 'a' }, { slug: 'b' }]
}

export default async function BlogPost({ params }: { params: Promise<{ slug: string }> }) {
  const { slug } = await params
  const info = await recordRender(`/blog/${slug}`)
  return (
    <>
      <h1>Post <span id="slug">{slug}</span></h1>
      <Markers info={info} />
      {/* Client-side navigation between two cached pages (the browser test follows it). */}
      <p>
        <Link id="to-other" href={slug === 'a' ? '/blog/b' : '/blog/a'}>
          {slug === 'a' ? 'Post b' : 'Post a'}
        </Link>
      </p>
      <HydratedMarker />
    </>
  )
}
