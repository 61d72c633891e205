// Cached by '/': { isr: 60 }. Sets a cookie, which is never stored, and shows the one it was rendered with.
export default defineEventHandler(async (event) => {
  const seen = getCookie(event, 'session') ?? 'none'
  setCookie(event, 'visitor', '1')
  setResponseHeader(event, 'content-type', 'text/html; charset=utf-8')
  return `<h1>Nitro</h1><p>render <span id="render-id">${Math.random().toString(36).slice(2, 10)}</span>, session <span id="session">${seen}</span></p>`
})
