// The Kit 2 example's upstream client, shared (vite bundles it into this build too).
export * from '../../../../sveltekit/src/lib/server/upstream.ts'
