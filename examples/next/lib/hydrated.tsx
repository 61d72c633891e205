'use client'
import { useEffect } from 'react'

/** Sets `data-hydrated="true"` on <body> once React has hydrated the page (the browser test waits for it). */
export function HydratedMarker() {
  useEffect(() => {
    document.body.dataset.hydrated = 'true'
  }, [])
  return null
}
