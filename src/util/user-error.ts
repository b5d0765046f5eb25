/**
 * A problem the user can fix (bad input, a missing file, a refused setting): the CLI prints its message as one
 * line and exits with `exitCode`, never with a stack trace. Domain errors that are the user's to fix extend it.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'UserError';
  }
}
