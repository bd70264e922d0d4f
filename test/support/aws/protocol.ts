/** What the emulator front's services share: the fault type and the service shape. */

/** An AWS error answer: `__type` and `message`, as the JSON protocols send them. */
export class AwsFault extends Error {
  constructor(readonly type: string, message: string, readonly status = 400) {
    super(message)
  }
}

/** One operation: the parsed JSON body in, the JSON answer out (or an {@link AwsFault}). */
export type Operation = (body: Record<string, unknown>) => unknown

export interface FrontService {
  /** The `X-Amz-Target` prefix, e.g. `AmazonSSM`. */
  targetPrefix: string
  /** Operations answered here instead of by moto. */
  operations: Record<string, Operation>
  /** Requests per second across all the service's operations (ours and moto's); throttled beyond. */
  requestsPerSecond?: number
}
