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
  /** Horizontal marks (thresholds, the budget) at `y`, with their label at (`textX`, `textY`). */
  marks: Array<{ y: number; label: string; textX: number; textY: number }>
}

/**
 * A mark label's row (11 px type, svg .label in ui.css: its box is 13 px tall), the lowest
 * baseline that keeps it inside the chart's top, and a generous width per character.
 */
const LABEL_HEIGHT = 14
const LABEL_BASELINE = 11
const LABEL_CHAR_WIDTH = 7
const LABEL_GAP = 6

/**
 * Places labels just above their lines (`y`), left to right, none over another: a label
 * whose line is too close to one placed before moves right of it, and up a row when the
 * chart is too narrow for it there. Marks close together (a spend far over its budget
 * squeezes them to the bottom) so stay readable.
 */
function placeLabels(marks: Array<{ y: number; label: string }>, width: number): Array<{ textX: number; textY: number }> {
  const placed: Array<{ x: number; top: number; w: number }> = []
  return marks.map((m) => {
    const w = m.label.length * LABEL_CHAR_WIDTH
    let textY = Math.max(LABEL_BASELINE, m.y - 2)
    let x = 2
    for (let row = 0; row <= placed.length; row++) {
      x = 2
      const top = textY - LABEL_BASELINE
      for (const p of [...placed].sort((a, b) => a.x - b.x)) {
        const sameRow = top < p.top + LABEL_HEIGHT && p.top < top + LABEL_HEIGHT
        if (sameRow && x < p.x + p.w + LABEL_GAP && p.x < x + w + LABEL_GAP) x = p.x + p.w + LABEL_GAP
      }
      if (x + w <= width || textY - LABEL_HEIGHT < LABEL_BASELINE) break
      textY -= LABEL_HEIGHT
    }
    placed.push({ x, top: textY - LABEL_BASELINE, w })
    return { textX: r(x), textY: r(textY) }
  })
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
    marks: ((lines) => {
      const labels = placeLabels(lines, width)
      return lines.map((l, i) => ({ ...l, ...labels[i]! }))
    })(marks.map((m) => ({ y: r(height - scale(m.value)), label: m.label }))),
  }
}
