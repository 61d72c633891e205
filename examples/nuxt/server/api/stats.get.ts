// The cache's counters, through useIsrCache() (auto-imported in server code).
export default defineEventHandler(() => useIsrCache().stats())
