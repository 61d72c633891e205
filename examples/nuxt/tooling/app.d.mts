import type { Library, Log, NextServer, StepResult } from '../../next/tooling/prepare.mjs'

type Prepared = Promise<{ library: Library; install: StepResult; build: StepResult }>
type StartOptions = { port: number; env?: Record<string, string | undefined>; name?: string; log?: Log }

export const appDir: string
export function prepareNuxt(options?: { log?: Log; echo?: boolean }): Prepared
export function startNuxt(options: StartOptions & { echo?: boolean }): Promise<NextServer>
export const nuxt45Dir: string
export const nuxt45Node: string
export function writeNuxt45Sources(): void
export function prepareNuxt45(options?: { log?: Log }): Prepared
export function startNuxt45(options: StartOptions): Promise<NextServer>
export const nitroDir: string
export function prepareNitro(options?: { log?: Log }): Prepared
export function startNitro(options: StartOptions): Promise<NextServer>
export const nitro3Dir: string
export function prepareNitro3(options?: { log?: Log }): Prepared
export function startNitro3(options: StartOptions): Promise<NextServer>
