/**
 * Puts String.prototype back into V8's fast mode.
 *
 * @redis/client 5 (which @keyv/redis loads) declares `class VerbatimString extends String`. On Node 20's V8,
 * giving String.prototype a new prototype user leaves it in dictionary mode, and from then on optimized code
 * calls string methods such as `charCodeAt` through a generic path, in the whole process and for good.
 * Measured here: Next's ETag hash of a 7 KB page took 47 µs instead of 9 µs once @keyv/redis was loaded,
 * which cost a Next.js server about a fifth of its cache-hit throughput. A property store on an object
 * whose prototype is String.prototype makes V8 turn the prototype fast again (@redis/client 6.3 ships the
 * same remedy after its class). The object is garbage at once; nothing observable changes.
 */
export function restoreFastStringPrototype(): void {
  const probe = Object.create(String.prototype) as { isrCacheFastStringPrototype?: boolean }
  probe.isrCacheFastStringPrototype = true
}
