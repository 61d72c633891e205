/**
 * The package as npm publishes it, from a clean checkout: a copy of the repository's files as a clone has
 * them (tracked files, plus new ones not yet committed; no dist/, no node_modules/), packed with `npm pack`,
 * which must build dist/ itself (the `prepack` script). The tarball is installed into an empty project
 * (`npm install <tgz>`, from npm's cache where it can), and every subpath of package.json "exports" is
 * imported from there in ESM and CJS and type-checked with tsc (ESM and CJS consumers, strict, library
 * files checked too). test/exports.test.ts checks dist/ of this checkout; this checks what users get.
 *
 * Cost: one tsup build, one `npm pack`, one small `npm install` (isr-cache and its two dependencies) and
 * one tsc run; about 20 s here. The build uses the repository's node_modules through a symlink (its
 * devDependencies); nothing of it ends up in the tarball, which `files` limits to dist/ and the docs.
 */
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { packLibrary, repoRoot, run, type Library } from '../examples/next/tooling/prepare.mjs'
import { runScript } from './support/child-script.js'

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  name: string
  version: string
  exports: Record<string, string | { import: { types: string; default: string }; require: { types: string; default: string } }>
}
/** Every subpath users can import, from package.json: a new one is covered without touching this test. */
const subpaths = Object.keys(pkg.exports).filter((path) => path !== './package.json')
const specifierOf = (subpath: string) => (subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`)
const specifiers = subpaths.map(specifierOf)

const log = (line: string) => console.log(`[pack] ${line}`)
const work = mkdtempSync(join(tmpdir(), 'isr-pack-'))
const clean = join(work, 'checkout')
const consumer = join(work, 'consumer')
let library: Library

afterAll(() => {
  rmSync(work, { recursive: true, force: true })
})

/** The files a clone of the working tree would have: tracked ones that still exist, and new unignored ones. */
function copyCleanCheckout(): void {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  for (const file of new Set(listed.split('\0').filter(Boolean))) {
    const from = join(repoRoot, file)
    if (!existsSync(from)) continue // deleted in the working tree
    mkdirSync(dirname(join(clean, file)), { recursive: true })
    cpSync(from, join(clean, file), { verbatimSymlinks: true })
  }
}

describe('npm pack of a clean checkout', () => {
  beforeAll(async () => {
    const started = performance.now()
    copyCleanCheckout()
    if (existsSync(join(clean, 'dist'))) throw new Error('the clean checkout has a dist/ (is it tracked?)')
    // The build's tools (tsup, typescript): the repository's devDependencies, not part of what is packed.
    symlinkSync(join(repoRoot, 'node_modules'), join(clean, 'node_modules'), 'dir')
    library = await packLibrary({ from: clean, destination: work, prepack: true, log })
    mkdirSync(consumer)
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'isr-cache-pack-consumer', version: '0.0.0', private: true }))
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', library.tarball], { cwd: consumer, log })
    log(`copy, pack (with its build) and install: ${Math.round(performance.now() - started)} ms (npm pack ${library.ms} ms)`)
  }, 240_000)

  it('packs dist/ (built by prepack): every file package.json "exports", "main", "module" and "types" name', () => {
    const files = new Set(library.files)
    const named = new Set<string>()
    for (const target of Object.values(pkg.exports)) {
      if (typeof target === 'string') named.add(target)
      else for (const file of [target.import.types, target.import.default, target.require.types, target.require.default]) named.add(file)
    }
    const top = pkg as unknown as { main: string; module: string; types: string }
    for (const file of [top.main, top.module, top.types]) named.add(file)
    for (const file of named) expect(files, `${file} is not in the tarball`).toContain(file.replace(/^\.\//, ''))
    expect([...files].filter((file) => !/^(dist\/|README\.md$|CHANGELOG\.md$|LICENSE|package\.json$)/.test(file)), 'only dist/ and the docs').toEqual([])
  })

  it('every subpath imports from the installed tarball in ESM and CJS, with the same exports', async () => {
    const result = await runScript<Record<string, { esm: string[]; cjs: string[]; esmFile: string; cjsFile: string }>>(
      `
      import { createRequire } from 'node:module'
      import { fileURLToPath } from 'node:url'
      const require = createRequire(process.cwd() + '/package.json')
      const names = (module) => Object.keys(module).filter((name) => name !== 'default' && name !== '__esModule').sort()
      const out = {}
      for (const specifier of ${JSON.stringify(specifiers)}) {
        out[specifier] = {
          esm: names(await import(specifier)),
          cjs: names(require(specifier)),
          esmFile: fileURLToPath(import.meta.resolve(specifier)),
          cjsFile: require.resolve(specifier),
        }
      }
      out['package.json'] = { esm: [require('${pkg.name}/package.json').version], cjs: [], esmFile: '', cjsFile: '' }
      console.log(JSON.stringify(out))
      `,
      { cwd: consumer, timeoutMs: 30_000 },
    )
    const installed = join(consumer, 'node_modules', pkg.name)
    for (const specifier of specifiers) {
      const got = result[specifier]!
      expect(got.esm.length, `${specifier} exports nothing`).toBeGreaterThan(0)
      expect(got.cjs, `${specifier}: CJS and ESM export different names`).toEqual(got.esm)
      expect(got.esmFile.startsWith(installed), `${specifier} (ESM) resolved to ${got.esmFile}`).toBe(true)
      expect(got.cjsFile.startsWith(installed), `${specifier} (CJS) resolved to ${got.cjsFile}`).toBe(true)
    }
    expect(result['package.json']!.esm).toEqual([pkg.version])

    // The installed package works, not only loads: one round trip through the core in each format.
    const roundTrip = await runScript<{ esm: string; cjs: string }>(
      `
      import { createRequire } from 'node:module'
      const require = createRequire(process.cwd() + '/package.json')
      const once = async ({ createIsrCache }) => {
        const cache = createIsrCache()
        const first = await cache.getOrSet('k', () => 'v')
        const second = await cache.get('k')
        await cache.close()
        return first.status + ' ' + second.status + ' ' + second.value
      }
      console.log(JSON.stringify({ esm: await once(await import('${pkg.name}')), cjs: await once(require('${pkg.name}')) }))
      `,
      { cwd: consumer },
    )
    expect(roundTrip).toEqual({ esm: 'miss hit v', cjs: 'miss hit v' })
  })

  it('every subpath type-checks in an ESM and a CJS consumer (tsc, strict, declaration files checked)', async () => {
    // Each import must resolve to declarations (not `any`), and every name the module exports at run time
    // must be declared.
    const runtime = await runScript<Record<string, string[]>>(
      `
      const out = {}
      for (const specifier of ${JSON.stringify(specifiers)}) out[specifier] = Object.keys(await import(specifier)).filter((name) => name !== 'default').sort()
      console.log(JSON.stringify(out))
      `,
      { cwd: consumer },
    )
    const lines = (form: 'esm' | 'cjs') => [
      'type IsAny<T> = 0 extends 1 & T ? true : false',
      ...specifiers.flatMap((specifier, i) => [
        form === 'esm' ? `import * as m${i} from '${specifier}'` : `import m${i} = require('${specifier}')`,
        `export const notAny${i}: IsAny<typeof m${i}> = false`,
        `export const names${i}: Array<keyof typeof m${i}> = ${JSON.stringify(runtime[specifier])}`,
      ]),
      '',
    ]
    writeFileSync(join(consumer, 'esm.mts'), lines('esm').join('\n'))
    writeFileSync(join(consumer, 'cjs.cts'), lines('cjs').join('\n'))
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(repoRoot, 'node_modules', '@types')],
        },
        files: ['esm.mts', 'cjs.cts'],
      }),
    )
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc')
    await expect(run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: consumer, log })).resolves.toBeDefined()
  }, 60_000)
})
