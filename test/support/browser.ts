/**
 * The frameworks' browser tests (next, nuxt, sveltekit, astro e2e): Debian's headless Chromium through
 * playwright-core, and what each test watches on a page: console errors, hydration warnings, page errors,
 * failed answers, and which document loads there were (a client-side navigation loads one).
 */
import { existsSync } from 'node:fs'
import type { Browser, Page } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'
/** CI installs Chromium (.ci/run): there the browser tests must run; elsewhere they run when it is installed. */
export const chromiumAvailable = existsSync(CHROMIUM) || process.env.CI === 'true'

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core')
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}

export interface WatchOptions {
  /** Console lines not to count (reported another way). */
  ignoreConsole?: (text: string) => boolean
  /** Count answers of 400 and above as problems (default true). */
  failedResponses?: boolean
  /** Failed answers not to count: requests the browser makes of itself, not the app's. */
  ignoreResponse?: (url: URL) => boolean
}

/**
 * Starts watching `page`. `problems`: console errors and anything about hydration (a framework's production
 * mismatch report is often an error), page errors, failed answers; not Chrome's own warnings, such as the
 * slow-network font fallback on a loaded machine. `documents`: the URL of every document load.
 */
export function watchPage(page: Page, { ignoreConsole = () => false, failedResponses = true, ignoreResponse = () => false }: WatchOptions = {}): { problems: string[]; documents: string[] } {
  const problems: string[] = []
  const documents: string[] = []
  page.on('console', (message) => {
    if (ignoreConsole(message.text())) return
    if (message.type() === 'error' || /hydrat/i.test(message.text())) problems.push(`${message.type()}: ${message.text()}`)
  })
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`))
  if (failedResponses) {
    page.on('response', (response) => {
      if (response.status() >= 400 && !ignoreResponse(new URL(response.url()))) problems.push(`${response.status()}: ${response.url()}`)
    })
  }
  page.on('request', (request) => {
    if (request.resourceType() === 'document') documents.push(request.url())
  })
  return { problems, documents }
}
