/** Base URL of the content upstream (see tooling/upstream.mjs); run.mjs and the tests start one. */
export function upstreamUrl(): string {
  const url = process.env.UPSTREAM_URL
  if (!url) throw new Error('UPSTREAM_URL is not set: start the example with `npm run example:next` (see README.md)')
  return url
}

export interface Posts {
  version: string
  title: string
}
