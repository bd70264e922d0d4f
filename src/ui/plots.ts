/**
 * Small plots as data for inline SVG (the templates draw `<rect>`s from these; no script,
 * no client library): a stacked horizontal bar whose segments carry a CSS class and a
 * title, and a bar chart of one value per label.
 */

export interface Segment { x: number; width: number; cls: string; title: string }
export interface StackedBar { width: number; height: number; label: string; segments: Segment[] }

export const BAR_WIDTH = 300
export const BAR_HEIGHT = 14

/** Round to 0.1 px so pages stay small and stable. */
const r = (n: number): number => Math.round(n * 10) / 10

/** A stacked bar of `parts` (zero parts are left out); empty when they sum to 0. */
export function stackedBar(label: string, parts: Array<{ value: number; cls: string; name: string }>, width = BAR_WIDTH): StackedBar {
  const total = parts.reduce((a, p) => a + p.value, 0)
  const segments: Segment[] = []
  let x = 0
  for (const p of parts) {
    if (p.value <= 0 || total === 0) continue
    const w = (p.value / total) * width
    segments.push({ x: r(x), width: r(w), cls: p.cls, title: `${p.name}: ${p.value}` })
    x += w
  }
  return { width, height: BAR_HEIGHT, label, segments }
}

export interface Bars { width: number; height: number; bars: Array<{ y: number; width: number; label: string; value: string; textY: number }> }

/** One bar per item, lengths proportional to `value` (the largest spans `width`). */
export function barChart(items: Array<{ label: string; value: number; text: string }>, width = BAR_WIDTH): Bars {
  const max = Math.max(0, ...items.map((i) => i.value))
  const row = 18
  return {
    width,
    height: Math.max(row, items.length * row),
    bars: items.map((i, n) => ({ y: n * row + 2, width: max > 0 ? r((i.value / max) * (width - 120)) : 0, label: i.label, value: i.text, textY: n * row + 13 })),
  }
}

export interface DayBars {
  width: number
  height: number
  bars: Array<{ x: number; y: number; width: number; height: number; title: string }>
  /** Horizontal marks (thresholds, the budget) at `y`, with their label. */
  marks: Array<{ y: number; label: string; textY: number }>
}

/**
 * Vertical bars, one per day of a month (`values[i]` is day i+1), scaled so the largest
 * of the values and the marks fills the height; marks are drawn as lines across.
 */
export function dayBars(values: number[], titles: string[], marks: Array<{ value: number; label: string }> = [], width = BAR_WIDTH, height = 90): DayBars {
  const max = Math.max(0, ...values, ...marks.map((m) => m.value))
  const slot = width / Math.max(1, values.length)
  const scale = (v: number) => (max > 0 ? (v / max) * (height - 4) : 0)
  return {
    width,
    height,
    bars: values.map((v, i) => ({ x: r(i * slot + 0.5), y: r(height - scale(v)), width: r(Math.max(1, slot - 1)), height: r(scale(v)), title: titles[i] ?? String(v) }))
      .filter((b) => b.height > 0),
    marks: marks.map((m) => {
      const y = r(height - scale(m.value))
      return { y, label: m.label, textY: r(Math.max(9, y - 2)) }
    }),
  }
}
