export { load } from '../bench/+page.server'
