/**
 * The revalidation endpoint on Nitro 3 (registered by the module at `revalidationPath`; bundled by Nitro):
 * h3 v2 hands over the visitor's web `Request`, which the HTTP layer's handler reads as it is.
 */
import { endpointOff, nitroState } from '../state.js'

async function isrCacheRevalidate3(event: { req: Request }): Promise<Response> {
  const revalidate = nitroState().revalidate
  return revalidate === undefined ? endpointOff() : revalidate(event.req)
}

export default isrCacheRevalidate3
