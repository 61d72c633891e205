import type { APIRoute } from 'astro'

// BENCH=1 (npm run bench:astro): this process's CPU time, for CPU per request; otherwise not found.
export const GET: APIRoute = () => (process.env.BENCH === '1' ? Response.json(process.cpuUsage()) : new Response(null, { status: 404 }))
