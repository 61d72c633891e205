// The part of `nitropack/runtime` the runtime files use. Nitro aliases the specifier to its own runtime
// when it bundles them; the repository does not install nitropack, so its types are declared here.
declare module 'nitropack/runtime' {
  export function useRuntimeConfig(): Record<string, unknown> & { app?: { buildId?: string; baseURL?: string } }
  export function getRouteRules(event: { path: string; context: Record<string, unknown> }): Record<string, unknown>
}
