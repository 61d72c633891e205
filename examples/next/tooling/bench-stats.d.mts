export function median(values: number[]): number
export function round2(value: number): number
export function figures<T extends { rps: number }>(rounds: T[], fields?: string[]): Record<string, number> & { rpsPerRound: number[] }
export function rpsRatio(a: Array<{ rps: number }>, b: Array<{ rps: number }>): number
