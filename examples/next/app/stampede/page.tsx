import { Markers } from '../../lib/markers'
import { recordRender } from '../../lib/render'

// Like /isr, for the concurrency test: a slow render, so concurrent requests overlap with the regeneration.
export const revalidate = 5

export default async function StampedePage() {
  const info = await recordRender('/stampede')
  await new Promise((resolve) => setTimeout(resolve, 500))
  return (
    <>
      <h1>Stampede page</h1>
      <Markers info={info} />
    </>
  )
}
