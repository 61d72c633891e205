import { recordRender } from '../../../lib/render'

// A cached route handler: the JSON body is stored (kind APP_ROUTE) and regenerated 5 s after.
export const revalidate = 5

export async function GET() {
  return Response.json(await recordRender('/api/time'))
}
