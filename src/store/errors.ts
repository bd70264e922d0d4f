/**
 * Errors of the store beyond the two of the contract (`types.ts`): a database that fails
 * (driver errors, wrapped with their cause) and a cursor the store did not issue.
 */

/** The database failed (connection lost, busy too long, disk full, ...); `cause` has the driver's error. */
export class StoreError extends Error {
  override name = 'StoreError'
}

/** A page cursor that this store did not hand out (or for another list): a client error. */
export class StoreCursorError extends Error {
  override name = 'StoreCursorError'
}
