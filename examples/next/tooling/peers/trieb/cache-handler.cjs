/**
 * For `npm run bench:next` only: @trieb.work/nextjs-turbo-redis-cache as its README's "Option A" (the
 * package itself as the cacheHandler, configured by environment: REDIS_URL, KEY_PREFIX, and
 * SKIP_KEYSPACE_CONFIG_CHECK because the bench does not reconfigure a shared Redis). Installed by the bench
 * on first use (tooling/peers/trieb/package.json).
 */
module.exports = require('@trieb.work/nextjs-turbo-redis-cache')
