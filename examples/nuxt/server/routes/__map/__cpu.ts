// BENCH=1 (npm run bench:nuxt): this process's CPU time, for CPU per request.
export default defineEventHandler(() => {
  if (process.env.BENCH !== '1') throw createError({ statusCode: 404 })
  return process.cpuUsage()
})
