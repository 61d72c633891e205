/**
 * The stored form of an entry: a versioned, binary-safe envelope.
 *
 *   bytes 0-3    "ISR1"  magic and format version
 *   byte  4      flags   bit 0: body gzip-compressed, bit 1: body brotli-compressed
 *   bytes 5-20   lastModified, 16 ASCII digits (epoch ms)   ┐ fixed-width ASCII so that a Redis script or
 *   bytes 21-36  expiresAt, 16 ASCII digits (epoch ms)      ┘ a SQL expression can read them without decoding
 *   bytes 37-40  CRC-32 of everything after the header (0 where Node lacks zlib.crc32, i.e. before 20.15)
 *   bytes 41-44  length of the metadata, uint32 big-endian
 *   metadata     JSON: tags, path, revalidate, expire
 *   body         the value, in V8's structured-serialization format (Buffer, Uint8Array, Map, Set, Date,
 *                BigInt, undefined fields and nested objects all round-trip; bytes are stored raw, never base64)
 */
import { deserialize, serialize } from 'node:v8'
import { promisify } from 'node:util'
import * as zlib from 'node:zlib'
import { brotliCompress, brotliDecompress, constants as zlibConstants, gunzip, gzip } from 'node:zlib'
import { IsrCacheError, describeError } from './errors.js'

const gzipAsync = promisify(gzip)
const gunzipAsync = promisify(gunzip)
const brotliAsync = promisify(brotliCompress)
const unbrotliAsync = promisify(brotliDecompress)

export const MAGIC = 'ISR1'
export const HEADER_BYTES = 45
const FLAG_GZIP = 1
const FLAG_BROTLI = 2
const FLAG_CRC = 4
// zlib.crc32 arrived in Node 20.15; on older 20.x entries are written without a checksum.
const crc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32

/** An entry as the core handles it, decoded. */
export interface Entry<T = unknown> {
  value: T
  tags: string[]
  path: string | undefined
  lastModified: number
  revalidate: number | false
  expire: number
}

export interface CompressionOptions {
  /** Bodies of at least this many bytes are compressed (and kept compressed only if that saves space). */
  threshold: number
  algorithm: 'gzip' | 'brotli'
}

interface Meta {
  t: string[]
  p?: string
  r: number | false
  x: number
}

export function expiresAt(entry: Pick<Entry, 'lastModified' | 'expire'>): number {
  return entry.lastModified + entry.expire * 1000
}

function writeDigits(buffer: Buffer, offset: number, value: number): void {
  buffer.write(String(Math.max(0, Math.min(Math.trunc(value), 9_999_999_999_999_999))).padStart(16, '0'), offset, 16, 'latin1')
}

/** Encodes an entry. Throws `E_ENCODE` for values the structured-serialization format cannot hold. */
export async function encodeEntry(entry: Entry, compression?: CompressionOptions | false): Promise<Buffer> {
  return encodeBody(entry, serializeValue(entry.value), compression)
}

/**
 * Encodes an entry and returns with it a copy of the value as any later read will decode it: what the cache
 * keeps in process is this copy, never the caller's object (which the caller may go on mutating). One
 * serialization serves both. Throws `E_ENCODE` like `encodeEntry`.
 */
export async function encodeSnapshot(entry: Entry, compression?: CompressionOptions | false): Promise<{ bytes: Buffer; value: unknown }> {
  const body = serializeValue(entry.value)
  const value = deserialize(body)
  return { bytes: await encodeBody(entry, body, compression), value }
}

function serializeValue(value: unknown): Buffer {
  try {
    return serialize(value)
  } catch (error) {
    const reason = describeError(error).replace(/\.+$/, '')
    throw new IsrCacheError(
      'E_ENCODE',
      `cannot store this value (${reason}). A cached value may hold plain objects, arrays, strings, numbers, booleans, ` +
        'null, undefined, BigInt, Date, Map, Set, Buffer and typed arrays; not functions or symbols. Class instances are ' +
        'stored as plain objects (their methods are not kept): return data, not behaviour',
      { cause: error },
    )
  }
}

async function encodeBody(entry: Entry, serialized: Buffer, compression?: CompressionOptions | false): Promise<Buffer> {
  let body = serialized
  let flags = 0
  if (compression && body.length >= compression.threshold) {
    const packed =
      compression.algorithm === 'brotli'
        ? await brotliAsync(body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 4 } })
        : await gzipAsync(body, { level: 1 })
    if (packed.length < body.length) {
      body = packed
      flags = compression.algorithm === 'brotli' ? FLAG_BROTLI : FLAG_GZIP
    }
  }
  const meta: Meta = { t: entry.tags, r: entry.revalidate, x: entry.expire }
  if (entry.path !== undefined) meta.p = entry.path
  const metaBytes = Buffer.from(JSON.stringify(meta), 'utf8')
  const out = Buffer.allocUnsafe(HEADER_BYTES + metaBytes.length + body.length)
  out.write(MAGIC, 0, 4, 'latin1')
  out[4] = flags
  writeDigits(out, 5, entry.lastModified)
  writeDigits(out, 21, expiresAt(entry))
  out.writeUInt32BE(metaBytes.length, 41)
  metaBytes.copy(out, HEADER_BYTES)
  body.copy(out, HEADER_BYTES + metaBytes.length)
  if (crc32) {
    out[4] = flags | FLAG_CRC
    out.writeUInt32BE(crc32(out.subarray(HEADER_BYTES)), 37)
  } else {
    out.writeUInt32BE(0, 37)
  }
  return out
}

function corrupt(reason: string): IsrCacheError {
  return new IsrCacheError('E_DECODE', `a stored entry could not be decoded (${reason}); it is treated as a miss and will be overwritten by the next write`)
}

/**
 * A short fingerprint of an envelope (its header, which holds a CRC-32 of the rest, and its length), so
 * that a re-read of unchanged bytes can skip decoding. Undefined where the envelope has no checksum: then
 * equal headers would not prove equal contents.
 */
export function envelopeSignature(bytes: Uint8Array): string | undefined {
  if (bytes.length < HEADER_BYTES || !((bytes[4] ?? 0) & FLAG_CRC)) return undefined
  return `${Buffer.from(bytes.buffer, bytes.byteOffset, HEADER_BYTES).toString('latin1')}:${bytes.length}`
}

/** Reads only the header's lastModified (for conditional writes). Returns undefined if not an envelope. */
export function peekLastModified(bytes: Uint8Array): number | undefined {
  if (bytes.length < HEADER_BYTES) return undefined
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buffer.toString('latin1', 0, 4) !== MAGIC) return undefined
  const value = Number(buffer.toString('latin1', 5, 21))
  return Number.isFinite(value) ? value : undefined
}

/** Decodes an envelope. Throws `E_DECODE` (never anything else) when the bytes are not a readable entry. */
export async function decodeEntry(bytes: Uint8Array): Promise<Entry> {
  if (!(bytes instanceof Uint8Array)) throw corrupt(`expected bytes, got ${typeof bytes}`)
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buffer.length < HEADER_BYTES) throw corrupt('too short')
  if (buffer.toString('latin1', 0, 4) !== MAGIC) throw corrupt('unknown format or version')
  const flags = buffer[4]!
  const lastModified = Number(buffer.toString('latin1', 5, 21))
  const metaLength = buffer.readUInt32BE(41)
  if (!Number.isFinite(lastModified) || HEADER_BYTES + metaLength > buffer.length) throw corrupt('bad header')
  if (flags & FLAG_CRC && crc32 && crc32(buffer.subarray(HEADER_BYTES)) !== buffer.readUInt32BE(37)) {
    throw corrupt('checksum mismatch')
  }
  let meta: Meta
  try {
    meta = JSON.parse(buffer.toString('utf8', HEADER_BYTES, HEADER_BYTES + metaLength)) as Meta
  } catch (error) {
    throw corrupt(`bad metadata: ${describeError(error)}`)
  }
  if (!Array.isArray(meta.t) || typeof meta.x !== 'number' || !(meta.r === false || typeof meta.r === 'number')) {
    throw corrupt('bad metadata fields')
  }
  let body = buffer.subarray(HEADER_BYTES + metaLength)
  let value: unknown
  try {
    if (flags & FLAG_GZIP) body = await gunzipAsync(body)
    else if (flags & FLAG_BROTLI) body = await unbrotliAsync(body)
    value = deserialize(body)
  } catch (error) {
    throw corrupt(`bad body: ${describeError(error)}`)
  }
  return { value, tags: meta.t, path: meta.p, lastModified, revalidate: meta.r, expire: meta.x }
}
