/**
 * A varied, deterministic `sacct -P` text for the campus example: ordinary jobs, running
 * and pending jobs, jobs across day, page and window boundaries, jobs on several node
 * groups, nodes in no group, job ids of arrays, steps and hetjobs, every memory unit,
 * CRLF line ends, empty lines and garbled lines of every kind the parser reports. And a
 * summary of an aggregator (every grouping, the days, what was garbled or uncharged) to
 * compare two ways of aggregating the same text.
 */
import type { UsageAggregator } from '../../src/usage/aggregate.js'
import { GROUP_BY } from '../../src/usage/aggregate.js'
import { random } from '../../bench/random.js'

const iso = (s: number) => new Date(s * 1000).toISOString().slice(0, 19)

const ACCOUNTS = [['nlp-smith', 'alice', 'nlp'], ['nlp-smith', 'bob', 'nlp'], ['cv-chen', 'dave', 'cv'], ['cv-chen', 'erin', 'cv'], ['dl-okafor', 'frank', 'dl'], ['dl-okafor', 'frank', 'scavenger'], ['unknown-acct', 'zed', 'dl']] as const
const NODE_LISTS = ['gpu-h100-001', 'gpu-h100-[002-003]', 'gpu-a10g-01', 'gpu-a10g-[02,05]', 'cpu-001', 'cpu-[001-004]', 'cpu-007,gpu-a10g-03', 'gpu-h100-004,cpu-[010-011]', 'other-01', 'cpu-[', 'None assigned']
const GARBLED = [
  'garbage',
  '1|a|b|c|d|e|f',
  'x9|cv-chen|dave|cv|standard|COMPLETED|2026-12-01T00:00:00|2026-12-01T01:00:00|1|cpu=1|cpu-001',
  '9|cv-chen|dave|cv|standard|COMPLETED|yesterday|2026-12-01T01:00:00|1|cpu=1|cpu-001',
  '9|cv-chen|dave|cv|standard|COMPLETED|2026-13-01T00:00:00|2026-12-01T01:00:00|1|cpu=1|cpu-001',
  '9|cv-chen|dave|cv|standard|COMPLETED|2026-12-01T25:00:00|2026-12-01T01:00:00|1|cpu=1|cpu-001',
  '9|cv-chen|dave|cv|standard|COMPLETED|2026-12-01T00:00:00|2026-12-01T01:00:00|1|cpu=one|cpu-001',
  '9|cv-chen|dave|cv|standard|COMPLETED|2026-12-01T00:00:00|2026-12-01T01:00:00|1|cpu=1,,mem=1G|cpu-001',
  '9|cv-chen|dave|cv|standard|COMPLETED|2026-12-01T00:00:00|2026-12-01T01:00:00|1|cpu=1,mem=lots|cpu-001',
  '9|cv-chen|dave|cv|standard|COMPLETED|2026-12-01T00:00:00|2026-12-01T01:00:00|x|cpu=1|cpu-001',
  '9||dave|cv|standard|COMPLETED|2026-12-01T00:00:00|2026-12-01T01:00:00|1|cpu=1,node=1|cpu-001',
  '9|cv-chen|dave|cv|standard|COMPLETED|2026-12-01T00:00:00|2026-12-01T01:00:00|1|cpu=1,node=1|cpu-001|extra',
]

/** `count` lines of jobs around the window `[from, from + days)`, garbled ones among them. */
export function variedSacct(from: number, days: number, count: number, seed = 7): string {
  const rand = random(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T
  const out: string[] = []
  for (let i = 0; i < count; i++) {
    const r = rand()
    if (r < 0.03) { out.push(pick(GARBLED)); continue }
    if (r < 0.04) { out.push(''); continue }
    const [account, user, partition] = pick(ACCOUNTS)
    const nodeList = pick(NODE_LISTS)
    const nodes = nodeList.includes(',') || nodeList.includes('-0') && nodeList.includes('[') ? 2 + Math.floor(rand() * 2) : 1
    const start = from - 7200 + Math.floor(rand() * (days * 86_400 + 10_800))
    const kind = rand()
    const startText = kind < 0.05 ? 'Unknown' : kind < 0.07 ? 'None' : iso(start)
    const endText = kind < 0.07 ? 'Unknown' : kind < 0.12 ? 'Unknown' : iso(start + Math.floor(rand() * 2 * 86_400))
    const state = endText === 'Unknown' ? (kind < 0.07 ? 'PENDING' : 'RUNNING') : 'COMPLETED'
    const cpus = 1 + Math.floor(rand() * 64)
    const gpus = Math.floor(rand() * 5)
    const mem = pick([`${cpus * 2}G`, `${cpus * 1500}M`, '1T', `${cpus}G`])
    const tres = pick([
      `billing=${cpus},cpu=${cpus},${gpus ? `gres/gpu=${gpus},` : ''}mem=${mem},node=${nodes}`,
      `cpu=${cpus},mem=${mem}`,
      `cpu=${cpus},gres/gpu:h100=${gpus},gres/gpu=${gpus},mem=${mem},node=${nodes},energy=12`,
      '',
    ])
    const id = pick([`${100 + i}`, `${100 + i}_${i % 7}`, `${100 + i}+1`, `${100 + i}.batch`])
    const text = `${id}|${account}|${user}|${partition}|standard|${state}|${startText}|${endText}|${nodes}|${tres}|${nodeList}`
    out.push(rand() < 0.05 ? `${text}\r` : text)
  }
  return `${out.join('\n')}\n`
}

/** Everything an aggregator reports, as plain data. */
export function summary(agg: UsageAggregator): unknown {
  return {
    records: agg.records,
    garbledCount: agg.garbledCount,
    garbled: agg.garbled,
    unchargedCount: agg.unchargedCount,
    uncharged: agg.uncharged,
    lines: Object.fromEntries(GROUP_BY.map((by) => [by, agg.lines(by)])),
    daily: agg.daily(),
    dailyOfDave: agg.daily((c) => c.user === 'dave'),
    departmentCents: [...agg.departmentCents()],
  }
}
