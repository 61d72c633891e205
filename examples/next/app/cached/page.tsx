import { getCachedData } from '../../lib/cached-data'
import { Markers } from '../../lib/markers'
import { recordRender } from '../../lib/render'

export default async function CachedPage() {
  const data = await getCachedData()
  const info = await recordRender('/cached')
  return (
    <>
      <h1>&apos;use cache&apos;</h1>
      <p>
        Cached data <span id="cached-id">{data.cachedId}</span>, computed at <span id="cached-at">{data.cachedAt}</span>
      </p>
      <Markers info={info} />
    </>
  )
}
