/** A TCP port free on loopback now, for a server started next, never handed out twice by this process (below Linux's ephemeral range). */
export function freePort(): Promise<number>
