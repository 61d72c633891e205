import adapter from '@sveltejs/adapter-node'
import { sveltekit } from '@sveltejs/kit/vite'
import { defineConfig } from 'vite'

// Kit 3: no svelte.config.js; the config goes to the sveltekit() plugin.
export default defineConfig({ plugins: [sveltekit({ adapter: adapter() })] })
