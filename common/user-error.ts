/**
 * An error caused by the user's input (a missing file, mismatched weights, no GPU adapter): the CLI
 * prints its message and exits 1, without a stack trace.
 */
export class UserError extends Error {}
