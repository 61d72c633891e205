import { renderId } from '$lib/server/upstream'

const rows = Array.from({ length: 120 }, (_, i) => `item ${i}: ${'lorem ipsum '.repeat(5)}`)

// The benchmark's page (npm run bench:sveltekit), cached by its rule; /bench-uncached renders it every time.
export function load() {
  return { id: renderId(), rows }
}
