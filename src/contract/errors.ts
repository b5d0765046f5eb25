/**
 * Every `error.code` a response may carry, with what it means to the caller. The docs table is generated from this;
 * a code thrown anywhere must be listed here (test/contract/catalog.test.ts checks the sources).
 */
export const ERROR_CODES = {
  'malformed-json': 'the request is not valid JSON',
  'invalid-request': 'not a JSON object, nested too deep, a forbidden key, or a bad `transaction`',
  'payload-too-large': 'the request is over 64 KiB',
  'unknown-command': 'no such command (names are lower-case: `press`, not `Press`)',
  'invalid-arguments': "the command's arguments do not fit its schema; the message names the field and value",
  'invalid-config': '`config-set`: the patched profile is not valid; the message names the field and value',
  'read-only': '`config-set`: the key describes the hardware or its topics and cannot change while running',
  'snapshot-failed':
    '`snapshot`: the device has no camera, or its camera has not shown a frame yet, or the grab failed',
  'not-supported': 'the device lacks the capability the command needs',
  'unknown-request': '`share-decision`: no pending consent prompt with that `requestId`',
  'duplicate-request': '`share`: a request with that `requestId` is already pending',
  busy: '`share`: too many requests are pending; try again later',
  'requester-namespace-required':
    "`share`, `legal-demand`: sent outside the sender's namespace; send it on `{prefix}/{id}/requester/{user}/request/…`",
  'hold-failed':
    '`legal-demand`: the hold could not be set on some clips (the message names them and why); send the demand again',
  internal: 'the device failed unexpectedly; the message says how',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The refusal of a footage request sent outside the sender's namespace (device and docs say it alike). */
export function namespaceRequiredMessage(command: string): string {
  return `send ${command} on <prefix>/<id>/requester/<your broker username>/request/${command}: who asks is the broker login, not the payload`;
}
