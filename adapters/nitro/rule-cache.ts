/**
 * A request's `isr` rule translated at run time, by both majors' middleware: the translations are kept by
 * rule value (the route rules' objects, numbers, `true`: few, and reused), so a request costs no parse.
 */
import { translateIsrRule, type TranslatedRule } from './rules.js'

const translatedRules = new Map<unknown, TranslatedRule | undefined>()
let warned = false

/** The rule for `isr`, or undefined when the route is not cached. */
export function translatedRule(isr: unknown): TranslatedRule | undefined {
  if (translatedRules.has(isr)) return translatedRules.get(isr)
  let result: TranslatedRule | undefined
  try {
    result = translateIsrRule(isr)
  } catch (error) {
    // The module checked the route rules at build time; a rule that still does not translate is not cached.
    if (!warned) console.error(`[isr-cache] ${(error as Error).message}; the route is not cached`)
    warned = true
  }
  if (translatedRules.size >= 1000) translatedRules.clear()
  translatedRules.set(isr, result)
  return result
}
