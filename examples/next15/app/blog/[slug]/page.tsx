import { Markers } from '../../../lib/markers'
import { recordRender } from '../../../lib/render'

export const revalidate = 3600
export const dynamicParams = true

export function generateStaticParams() {
  return [{ slug: 'a' }]
}

export default async function BlogPost({ params }: { params: Promise<{ slug: string }> }) {
  const { slug } = await params
  const info = await recordRender(`/blog/${slug}`)
  return (
    <>
      <h1>Post <span id="slug">{slug}</span></h1>
      <Markers info={info} />
    </>
  )
}
