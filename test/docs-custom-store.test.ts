/**
 * docs/stores/custom.md prints the custom store and its conformance test; examples/custom-store/ holds the
 * same code, type-checked under strict by `npm run typecheck` and run by vitest. This keeps the two equal,
 * so the documented example is the tested one, letter for letter.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..')
const doc = readFileSync(join(root, 'docs/stores/custom.md'), 'utf8')
const blocks = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!)

describe('docs/stores/custom.md', () => {
  it.each(['my-store.ts', 'my-store.test.ts'])('prints examples/custom-store/%s exactly', (file) => {
    const source = readFileSync(join(root, 'examples/custom-store', file), 'utf8')
    const printed = blocks.find((block) => block.replace(/^\/\/ my-store\.test\.ts.*\n/, '') === source)
    expect(printed, `docs/stores/custom.md has no \`\`\`ts block equal to examples/custom-store/${file}; update the doc`).toBeDefined()
  })
})
