import type { Library, Log, NextServer, StepResult } from '../../next/tooling/prepare.mjs'

export const appDir: string
export function prepareNuxt(options?: { log?: Log; echo?: boolean }): Promise<{ library: Library; install: StepResult; build: StepResult }>
export function startNuxt(options: { port: number; env?: Record<string, string | undefined>; name?: string; log?: Log; echo?: boolean }): Promise<NextServer>
export const nitroDir: string
export function prepareNitro(options?: { log?: Log }): Promise<{ library: Library; install: StepResult; build: StepResult }>
export function startNitro(options: { port: number; env?: Record<string, string | undefined>; name?: string; log?: Log }): Promise<NextServer>
