/**
 * Figures of the example benchmarks (bench:next, bench:http): each set-up is measured once per round, the
 * set-ups taking turns; a figure is the median over the rounds, a ratio the median of per-round ratios
 * (these machines are noisy, and neighbours in time are the fairest comparison).
 */

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

export const round2 = (value) => Math.round(value * 100) / 100

/** The medians of `fields` over a set-up's rounds, and its requests per second in each round. */
export function figures(rounds, fields = ['rps', 'p50Ms', 'p99Ms']) {
  const result = Object.fromEntries(fields.map((field) => [field, median(rounds.map((run) => run[field]))]))
  return { ...result, rpsPerRound: rounds.map((run) => run.rps) }
}

/** The median over the rounds of `a`'s requests per second ÷ `b`'s in the same round. */
export function rpsRatio(a, b) {
  return round2(median(a.map((run, i) => run.rps / b[i].rps)))
}
