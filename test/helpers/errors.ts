/** The message of the error `action` throws; throws itself when `action` does not, so the test fails. */
export function errorOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('no error');
}
