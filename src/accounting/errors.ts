/** Named errors of the accounting capability; the CLI and the API map them to exits and statuses. */

/** One reason a plan cannot be made (a POSIX clash, a protected object in the spec). */
export interface PlanProblem {
  /** What it is about: `user alice`, `uid 200001`, `account root`. */
  subject: string
  message: string
}

/** Thrown when the live state makes the spec impossible to apply; nothing is applied. */
export class PlanClashError extends Error {
  override name = 'PlanClashError'
  constructor(readonly problems: PlanProblem[], options?: ErrorOptions) {
    super(`cannot plan: ${problems.map((p) => `${p.subject}: ${p.message}`).join('; ')}`, options)
  }
}

/** Thrown when the live state cannot be read (sacctmgr or getent failed, output unparseable). */
export class LiveStateError extends Error {
  override name = 'LiveStateError'
}
