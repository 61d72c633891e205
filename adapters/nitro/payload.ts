/**
 * A Nuxt page's `_payload.json`, derived from the page's stored HTML, so that a page and its payload always
 * come from one render and one cache entry (they are stored, served and purged together; no instance ever
 * renders a payload of its own that disagrees with the HTML another instance stored).
 *
 * The Nuxt module makes pages inline their whole payload (`experimental.payloadExtraction: 'client'`): the
 * HTML then holds `<script type="application/json" id="__NUXT_DATA__">` with the devalue-flattened payload,
 * whose root object has every key of the payload. `_payload.json` is the same flattened array with a root
 * holding only `data` and `prerenderedAt` (what Nuxt's own `splitPayload` keeps), so the derivation is exact
 * without knowing devalue's types: the other entries stay in the array, unreferenced.
 */

const DATA_SCRIPT = /<script\b[^>]*\bid="__NUXT_DATA__"[^>]*>([^<]*)<\/script>/

/** The `_payload.json` body of a page's HTML, or undefined when the HTML has no whole inline payload. */
export function payloadFromHtml(html: string): string | undefined {
  const found = DATA_SCRIPT.exec(html)
  if (found === null) return undefined
  const tag = found[0]
  // A page rendered with payload extraction "true" inlines only part of the payload and links the rest.
  if (/\bdata-src=/.test(tag.slice(0, tag.indexOf('>')))) return undefined
  let flat: unknown
  try {
    flat = JSON.parse(found[1]!)
  } catch {
    return undefined
  }
  if (!Array.isArray(flat) || flat.length === 0) return undefined
  let root: unknown = flat[0]
  // The payload object is reactive, so devalue may have written the root through Nuxt's reducer: ["Reactive", i].
  if (Array.isArray(root) && root.length === 2 && typeof root[0] === 'string' && typeof root[1] === 'number') root = flat[root[1]]
  if (typeof root !== 'object' || root === null || Array.isArray(root)) return undefined
  const { data, prerenderedAt } = root as Record<string, unknown>
  if (typeof data !== 'number') return undefined
  // devalue: -1 is undefined.
  const payload = [{ data, prerenderedAt: typeof prerenderedAt === 'number' ? prerenderedAt : -1 }, ...flat.slice(1)]
  // As Nuxt writes it: forward slashes escaped (the body may be inlined into HTML by a client).
  return JSON.stringify(payload).replaceAll('/', '\\u002F')
}
