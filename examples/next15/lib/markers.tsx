import type { RenderInfo } from './render'

/** Machine-readable markers: tests read #rendered-at and #render-id to tell a cached render from a new one. */
export function Markers({ info }: { info: RenderInfo }) {
  return (
    <p>
      Rendered at <span id="rendered-at">{info.renderedAt}</span>, render <span id="render-id">{info.renderId}</span>
    </p>
  )
}
