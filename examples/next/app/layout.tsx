import Link from 'next/link'
import type { ReactNode } from 'react'

export const metadata = { title: 'isr-cache × Next.js' }

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <nav>
          <Link href="/">Home</Link> · <Link href="/isr">/isr</Link> · <Link href="/posts">/posts</Link> ·{' '}
          <Link href="/blog/a">/blog/a</Link> · <Link href="/cached">/cached</Link> · <Link href="/actions">/actions</Link> ·{' '}
          <a href="/legacy">/legacy</a>
        </nav>
        <main>{children}</main>
      </body>
    </html>
  )
}
