/**
 * One error handler for the API: named domain errors map to status codes with
 * `{error, message, details}`; anything unexpected is a 500 that leaks no internals.
 */
import type { FastifyError, FastifyInstance } from 'fastify'
import { SpecInvalidError, SpecUnreadableError } from '../spec/problems.js'
import { SpecItemExistsError, SpecItemNotFoundError } from '../spec/edit.js'
import { ForbiddenError } from '../auth/policy.js'
import { StoreConflictError, StoreNotFoundError } from '../store/types.js'
import { StoreCursorError } from '../store/errors.js'
import { LiveStateError, PlanClashError } from '../accounting/errors.js'
import { ExecError } from '../adapters/executor.js'
import { SacctmgrParseError } from '../slurm/sacctmgr.js'
import { NoControllerError } from '../apply/profile.js'
import { BalancerError, UnknownLoginNodeError } from '../login-nodes/model.js'
import { LoginNodeError } from '../login-nodes/drain.js'
import { IdentitySourceError, IdentitySourceUnavailableError } from '../identity/source.js'
import { BudgetError, UnknownBudgetError } from '../budgets/service.js'
import { UsageReadError, UsageWindowError } from '../usage/read.js'
import { AwsBudgetsNotConfiguredError, NoClusterBudgetError } from '../budgets/aws-service.js'
import { AwsBudgetInputError } from '../budgets/aws-budget.js'
import { ReconcileError } from '../budgets/aws-reconcile.js'
import { AwsBudgetError } from '../adapters/aws/budgets.js'
import { CostExplorerError } from '../adapters/aws/cost-explorer.js'

/** Thrown for a missing, malformed or revoked token (HTTP 401). */
export class UnauthorizedError extends Error {
  override name = 'UnauthorizedError'
}

/** Thrown for a request that is well-formed but cannot be met as asked (HTTP 4xx). */
export class HttpError extends Error {
  override name = 'HttpError'
  constructor(readonly statusCode: number, readonly code: string, message: string, readonly headers: Record<string, string> = {}) {
    super(message)
  }
}

const byClass: Array<[new (...args: never[]) => Error, number, string]> = [
  [UnauthorizedError, 401, 'Unauthorized'],
  [SpecItemNotFoundError, 404, 'NotFound'],
  [StoreNotFoundError, 404, 'NotFound'],
  [SpecItemExistsError, 409, 'Conflict'],
  [StoreConflictError, 409, 'Conflict'],
  [SpecUnreadableError, 400, 'SpecUnreadable'],
  [StoreCursorError, 400, 'BadRequest'],
  [NoControllerError, 409, 'NoController'],
  // The controller answered, but not as needed: the cluster, not this service, is at fault.
  [LiveStateError, 502, 'ControllerError'],
  [ExecError, 502, 'ControllerUnreachable'],
  [SacctmgrParseError, 502, 'ControllerError'],
  [UnknownLoginNodeError, 404, 'NotFound'],
  [BalancerError, 502, 'BalancerError'],
  [LoginNodeError, 502, 'LoginNodeError'],
  // The directory failed after every retry, or holds what cannot be synced (a user without a name...).
  [IdentitySourceUnavailableError, 502, 'IdentitySourceUnavailable'],
  [IdentitySourceError, 422, 'IdentitySourceInvalid'],
  [UnknownBudgetError, 422, 'UnknownBudget'],
  [BudgetError, 409, 'NoSpec'],
  [UsageWindowError, 400, 'BadRequest'],
  [UsageReadError, 502, 'ControllerError'],
  [AwsBudgetsNotConfiguredError, 409, 'NotConfigured'],
  [NoClusterBudgetError, 422, 'NoClusterBudget'],
  [AwsBudgetInputError, 422, 'AwsBudgetInvalid'],
  [ReconcileError, 422, 'CannotReconcile'],
  // AWS answered with an error after the SDK's retries.
  [AwsBudgetError, 502, 'AwsError'],
  [CostExplorerError, 502, 'AwsError'],
]

/** Installs the error and not-found handlers on `app`. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | Error, request, reply) => {
    if (err instanceof SpecInvalidError) {
      return reply.code(err.kind === 'semantic' ? 422 : 400).send({
        error: 'SpecInvalid',
        message: err.message,
        details: err.problems.map((p) => ({ path: p.path, message: p.message, severity: p.severity })),
      })
    }
    if (err instanceof PlanClashError) {
      return reply.code(409).send({
        error: 'PlanClash',
        message: err.message,
        details: err.problems.map((p) => ({ path: p.subject, message: p.message })),
      })
    }
    if (err instanceof ForbiddenError) {
      return reply.code(403).send({ error: 'Forbidden', message: err.message, details: err.path ? [{ path: err.path, message: err.message }] : [] })
    }
    if (err instanceof HttpError) {
      return reply.code(err.statusCode).headers(err.headers).send({ error: err.code, message: err.message, details: [] })
    }
    for (const [type, status, code] of byClass) {
      if (err instanceof type) {
        if (status === 401) reply.header('www-authenticate', 'Bearer')
        return reply.code(status).send({ error: code, message: err.message, details: [] })
      }
    }
    const fe = err as FastifyError
    if (fe.validation) {
      return reply.code(400).send({
        error: 'BadRequest',
        message: `the request ${fe.validationContext ?? 'body'} does not match the schema`,
        details: fe.validation.map((v) => ({
          path: `${fe.validationContext ?? 'body'}${v.instancePath}${v.keyword === 'additionalProperties' ? `/${String((v.params as { additionalProperty?: string }).additionalProperty)}` : ''}`,
          message: v.keyword === 'additionalProperties' ? 'unknown field: remove it or check its spelling' : (v.message ?? 'invalid'),
        })),
      })
    }
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
      return reply.code(fe.statusCode).send({ error: fe.code ?? 'BadRequest', message: fe.message, details: [] })
    }
    request.log.error({ err }, 'request failed')
    return reply.code(500).send({ error: 'Internal', message: 'internal error; see the service log', details: [] })
  })
  app.setNotFoundHandler((request, reply) => {
    return reply.code(404).send({ error: 'NotFound', message: `no route ${request.method} ${request.url}`, details: [] })
  })
}
