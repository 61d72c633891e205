/**
 * Noticing at once, without a query, that another process committed to a SQLite file (issue 15): a read
 * about to be served from L1 or cached tag records first compares a few bytes that SQLite itself changes on
 * every commit, read with one synchronous pread (about a microsecond; `PRAGMA data_version` is a round trip
 * through the driver's thread pool, and would make every L1 hit asynchronous):
 *
 *   WAL mode:     the WAL-index header, the first 48 bytes of `<file>-shm` (its change counter `iChange`
 *                 and `mxFrame` move on every commit; https://sqlite.org/walformat.html, §2.1);
 *   rollback:     the "file change counter", bytes 24–27 of the database header (https://sqlite.org/fileformat.html).
 *
 * Both are written before the writer's COMMIT returns, so a purge that has returned in one process is seen
 * by the next check in every other. Own commits move them too: this instance then drops its L1 and cached
 * records after its own writes as well, which costs re-reads, never a stale answer. Where neither can be
 * read (an in-memory database: one process only), there is nothing to watch.
 */
import { closeSync, openSync, readSync } from 'node:fs'

export class SqliteChangeCounter {
  readonly #fd: number
  readonly #offset: number
  readonly #last: Buffer
  readonly #now: Buffer

  private constructor(fd: number, offset: number, length: number) {
    this.#fd = fd
    this.#offset = offset
    this.#last = Buffer.alloc(length)
    this.#now = Buffer.alloc(length)
    this.changed()
  }

  /** Opens the counter of this database file, or undefined for an in-memory database. */
  static open(file: string, wal: boolean): SqliteChangeCounter | undefined {
    if (file === '' || file === ':memory:') return undefined
    const fd = openSync(wal ? `${file}-shm` : file, 'r')
    return wal ? new SqliteChangeCounter(fd, 0, 48) : new SqliteChangeCounter(fd, 24, 4)
  }

  /** Whether a commit happened since the last call (true also when the bytes cannot be read). */
  changed(): boolean {
    let read = 0
    try {
      read = readSync(this.#fd, this.#now, 0, this.#now.length, this.#offset)
    } catch {
      return true
    }
    if (read === this.#now.length && this.#now.equals(this.#last)) return false
    this.#now.copy(this.#last)
    return true
  }

  close(): void {
    try {
      closeSync(this.#fd)
    } catch {
      // already closed
    }
  }
}
