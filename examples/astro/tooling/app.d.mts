import type { Library, Log, NextServer, StepResult } from '../../next/tooling/prepare.mjs'

export const appDir: string
export const astro7Dir: string
export const node24: string
export function prepareAstro(options?: { log?: Log; echo?: boolean; env?: Record<string, string | undefined> }): Promise<{ library: Library; install: StepResult; build: StepResult }>
export function startAstro(options: { port: number; env?: Record<string, string | undefined>; name?: string; log?: Log; echo?: boolean }): Promise<NextServer>
export type Astro7Cache = 'isr' | 'memory'
export function prepareAstro7(options?: { log?: Log; env?: Record<string, string | undefined>; cache?: Astro7Cache }): Promise<{ library: Library; install: StepResult; build: StepResult }>
export function startAstro7(options: { port: number; env?: Record<string, string | undefined>; name?: string; log?: Log; cache?: Astro7Cache }): Promise<NextServer>
