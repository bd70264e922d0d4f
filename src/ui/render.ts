/**
 * The dashboard's Handlebars templates (templates/ui/*.hbs), compiled once, HTML-escaped
 * (unlike the config templates of src/slurm/templates.ts), in their own Handlebars
 * environment so their helpers never reach the config renderer. Every page is its body
 * template inside layout.hbs.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import Handlebars from 'handlebars'
import { projectRoot } from '../project-root.js'

export interface PageContext {
  title: string
  /** Navigation and the sign-out form; absent on the sign-in page. */
  nav?: { clusters: Array<{ name: string; current: boolean }>; cluster: string | null; isAdmin: boolean; role: string; csrf: string; who: string }
  [key: string]: unknown
}

export interface Renderer {
  page(name: string, context: PageContext): string
  /** The body of a page alone (to cache it), and the layout around a body. */
  body(name: string, context: PageContext): string
  layout(context: PageContext, body: string): string
  readonly css: string
}

/**
 * A template's source without the indentation and blank lines that help its reader but
 * not the browser: whitespace after a line break collapses to the line break (the same
 * rendering outside <pre>; no template has a line break inside one, and data is not
 * touched). Every page sent is that much smaller.
 */
export function compact(source: string): string {
  return source.replace(/\n\s+/g, '\n')
}

/** Compiles templates/ui once. */
export function createRenderer(dir = join(projectRoot(), 'templates', 'ui')): Renderer {
  const hbs = Handlebars.create()
  hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b)
  hbs.registerHelper('fixed', (n: unknown, digits: unknown) => (typeof n === 'number' ? n.toFixed(typeof digits === 'number' ? digits : 1) : '-'))
  const templates = new Map<string, Handlebars.TemplateDelegate>()
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.hbs'))) {
    const name = file.slice(0, -4)
    const source = compact(readFileSync(join(dir, file), 'utf8'))
    if (name.startsWith('_')) hbs.registerPartial(name.slice(1), source)
    else templates.set(name, hbs.compile(source, { strict: false }))
  }
  const layout = templates.get('layout')
  if (!layout) throw new Error(`no layout.hbs in ${dir}`)
  return {
    css: readFileSync(join(dir, 'ui.css'), 'utf8'),
    page(name, context) {
      return this.layout(context, this.body(name, context))
    },
    body(name, context) {
      const body = templates.get(name)
      if (!body) throw new Error(`no dashboard template ${name}.hbs`)
      return body(context)
    },
    layout(context, body) {
      return layout({ ...context, body })
    },
  }
}
