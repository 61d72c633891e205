// Cached by '/': { isr: 60 }. Sets a cookie, which is never stored, and shows the one it was rendered with.
import { defineHandler } from 'nitro'

export default defineHandler((event) => {
  const seen = /(?:^|;\s*)session=([^;]*)/.exec(event.req.headers.get('cookie') ?? '')?.[1] ?? 'none'
  event.res.headers.append('set-cookie', 'visitor=1; Path=/')
  event.res.headers.set('content-type', 'text/html; charset=utf-8')
  return `<h1>Nitro 3</h1><p>render <span id="render-id">${Math.random().toString(36).slice(2, 10)}</span>, session <span id="session">${seen}</span></p>`
})
