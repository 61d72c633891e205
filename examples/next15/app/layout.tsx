import type { ReactNode } from 'react'

export const metadata = { title: 'isr-cache × Next.js 15.5' }

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  )
}
