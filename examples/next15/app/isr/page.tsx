import { Markers } from '../../lib/markers'
import { recordRender } from '../../lib/render'

// Stale 5 seconds after each render: the next request is served stale and regenerates in the background.
export const revalidate = 5

export default async function IsrPage() {
  const info = await recordRender('/isr')
  return (
    <>
      <h1>ISR page</h1>
      <Markers info={info} />
    </>
  )
}
