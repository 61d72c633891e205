import type { GetStaticProps } from 'next'
import { Markers } from '../lib/markers'
import { recordRender, type RenderInfo } from '../lib/render'

// Pages Router ISR: regenerated in the background 5 s after each render.
export const getStaticProps: GetStaticProps<{ info: RenderInfo }> = async () => ({
  props: { info: await recordRender('/legacy') },
  revalidate: 5,
})

export default function Legacy({ info }: { info: RenderInfo }) {
  return (
    <main>
      <h1>Pages Router ISR</h1>
      <Markers info={info} />
    </main>
  )
}
