// The part of Nitro 3 (`nitro`, h3 v2) the Nitro 3 runtime files use. Nitro resolves these from the app's
// own `nitro` package when it bundles them; the repository does not install it, so they are declared here.
declare module 'nitro/app' {
  export function serverFetch(resource: string | URL | Request, init?: RequestInit): Promise<Response>
}
declare module 'nitro/runtime-config' {
  export function useRuntimeConfig(): Record<string, unknown> & { app?: { buildId?: string } }
}
