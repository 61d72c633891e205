// The island: hydrated in the browser (client:load), so a cached page's hydration is real.
import { useEffect, useState } from 'preact/hooks'

export default function Counter({ start }: { start: number }) {
  const [count, setCount] = useState(start)
  useEffect(() => {
    document.body.dataset.hydrated = 'true'
  }, [])
  return (
    <button type="button" id="counter" onClick={() => setCount(count + 1)}>
      clicked {count}
    </button>
  )
}
