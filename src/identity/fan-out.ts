/** Bounded parallelism: many requests or nodes, a few at a time. */

/** Runs `work` on every item, at most `limit` at a time; the first error stops new work and is thrown. */
export async function fanOut<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  let failed: unknown
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < items.length) {
      const item = items[next++] as T
      try {
        await work(item)
      } catch (err) {
        failed ??= err
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  if (failed !== undefined) throw failed
}
