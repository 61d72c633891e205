// One route wrapped by defineIsrEventHandler, imported explicitly (it is also auto-imported).
import { defineIsrEventHandler } from 'isr-cache/nitro'

export default defineIsrEventHandler(() => ({ id: Math.random().toString(36).slice(2, 10), at: new Date().toISOString() }), { revalidate: 300, tags: ['time'] })
