import { defineConfig } from 'tsup'

// One entry per public subpath; package.json "exports" lists the same ones (a test checks they agree).
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    testing: 'src/testing.ts',
    next: 'adapters/next/index.ts',
    http: 'src/http/index.ts',
    sveltekit: 'adapters/sveltekit/index.ts',
    astro: 'adapters/astro/index.ts',
    'astro/provider': 'adapters/astro/provider-runtime.ts',
    nitro: 'adapters/nitro/index.ts',
    nuxt: 'adapters/nuxt/index.ts',
    // Not subpaths: the files the Nitro and Nuxt modules register, which Nitro bundles into the app's server.
    'runtime/nitro/middleware': 'adapters/nitro/runtime/middleware.ts',
    'runtime/nitro/plugin': 'adapters/nitro/runtime/plugin.ts',
    'runtime/nitro/revalidate': 'adapters/nitro/runtime/revalidate.ts',
    'runtime/nitro/middleware3': 'adapters/nitro/runtime/middleware3.ts',
    'runtime/nitro/plugin3': 'adapters/nitro/runtime/plugin3.ts',
    'runtime/nitro/revalidate3': 'adapters/nitro/runtime/revalidate3.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  // import.meta.url in the CJS build (used to load optional peer packages).
  shims: true,
  // Shared chunks: isr-cache and isr-cache/next use one copy of the core (one IsrCacheError class).
  splitting: true,
  // The test helpers are imported by users' test files only; their test runner stays theirs.
  external: ['keyv', 'async-mutex', '@keyv/redis', '@keyv/sqlite', 'nitropack/runtime', 'nitro/app', 'nitro/runtime-config'],
})
