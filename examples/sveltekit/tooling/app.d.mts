import type { Library, Log, NextServer, StepResult } from '../../next/tooling/prepare.mjs'

export const appDir: string
export function prepareSvelteKit(options?: { log?: Log; echo?: boolean; env?: Record<string, string | undefined> }): Promise<{ library: Library; install: StepResult; build: StepResult }>
export function startSvelteKit(options: { port: number; env?: Record<string, string | undefined>; name?: string; log?: Log; echo?: boolean }): Promise<NextServer>
export const kit3Dir: string
export const node24: string
export function prepareSvelteKit3(options?: { log?: Log }): Promise<{ library: Library; install: StepResult; build: StepResult }>
export function startSvelteKit3(options: { port: number; env?: Record<string, string | undefined>; name?: string; log?: Log }): Promise<NextServer>
export function writeKit3Sources(): void
