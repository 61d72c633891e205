import { getCachedData } from '../../../lib/cached-data'
import { Markers } from '../../../lib/markers'
import { recordRender } from '../../../lib/render'

// A second page reading the same 'use cache' entry: its own page cache, the same cached data.
export default async function CachedMirrorPage() {
  const data = await getCachedData()
  const info = await recordRender('/cached/mirror')
  return (
    <>
      <h1>&apos;use cache&apos; (mirror)</h1>
      <p>
        Cached data <span id="cached-id">{data.cachedId}</span>, computed at <span id="cached-at">{data.cachedAt}</span>
      </p>
      <Markers info={info} />
    </>
  )
}
