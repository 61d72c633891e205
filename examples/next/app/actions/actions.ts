'use server'

import { updateTag } from 'next/cache'

/** A server action: `updateTag` expires the tag now, and this request's own re-render reads fresh data. */
export async function refreshPosts(): Promise<void> {
  updateTag('posts')
}
