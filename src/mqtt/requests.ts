import type { CommandResponse } from '../events/schemas.js';
import { COMMAND_PATTERN, MAX_REQUEST_BYTES } from './topics.js';

export type Transaction = string | number;

export interface ParsedRequest {
  args: Record<string, unknown>;
  transaction: Transaction | undefined;
}

export class CommandError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Keys that could reach an object's prototype when merged; refused in every request. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_REQUEST_DEPTH = 16;

function shapeProblem(value: unknown, path: string, depth: number): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (depth > MAX_REQUEST_DEPTH)
    return `request nests deeper than ${MAX_REQUEST_DEPTH} levels (at ${path || 'the top'})`;
  for (const [key, child] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    if (FORBIDDEN_KEYS.has(key)) return `key "${key}" is not allowed (at ${at})`;
    const problem = shapeProblem(child, at, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

export interface RequestContext {
  transaction: Transaction | undefined;
  /** The broker user whose namespace the request came in (`<id>/requester/<user>/request/…`); absent on `request/…`. */
  requester?: string;
}

export type CommandHandler = (
  args: Record<string, unknown>,
  context: RequestContext,
) => unknown | Promise<unknown>;
export type CommandTable = Readonly<Record<string, CommandHandler>>;

/** Parses a request body: empty or a JSON object of at most 64 KiB, with an optional `transaction`. */
export function parseRequest(
  payload: Uint8Array,
): { ok: true; request: ParsedRequest } | { ok: false; error: CommandError } {
  if (payload.byteLength > MAX_REQUEST_BYTES) {
    return {
      ok: false,
      error: new CommandError(
        'payload-too-large',
        `request is ${payload.byteLength} bytes; the limit is ${MAX_REQUEST_BYTES}`,
      ),
    };
  }
  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8').trim();
  if (text === '') return { ok: true, request: { args: {}, transaction: undefined } };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      error: new CommandError('malformed-json', `request is not valid JSON: ${(error as Error).message}`),
    };
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, error: new CommandError('invalid-request', 'request must be a JSON object') };
  }
  const problem = shapeProblem(body, '', 1);
  if (problem) return { ok: false, error: new CommandError('invalid-request', problem) };
  const { transaction, ...args } = body as Record<string, unknown>;
  if (transaction !== undefined && !isTransaction(transaction)) {
    return {
      ok: false,
      error: new CommandError(
        'invalid-request',
        'transaction must be a string of at most 128 characters or a number',
      ),
    };
  }
  return { ok: true, request: { args, transaction } };
}

/** Best effort: recover the transaction from a request that failed to parse, so the error can still be matched. */
export function salvageTransaction(payload: Uint8Array): Transaction | undefined {
  if (payload.byteLength > MAX_REQUEST_BYTES) return undefined;
  try {
    const body = JSON.parse(Buffer.from(payload).toString('utf8')) as { transaction?: unknown };
    return isTransaction(body?.transaction) ? body.transaction : undefined;
  } catch {
    return undefined;
  }
}

function isTransaction(value: unknown): value is Transaction {
  return (
    (typeof value === 'string' && value.length <= 128) ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

export function okResponse(data: unknown, transaction: Transaction | undefined): CommandResponse {
  return {
    status: 'ok',
    ...(data === undefined ? {} : { data }),
    ...(transaction === undefined ? {} : { transaction }),
  };
}

export function errorResponse(error: CommandError, transaction: Transaction | undefined): CommandResponse {
  return {
    status: 'error',
    error: { code: error.code, message: error.message },
    ...(transaction === undefined ? {} : { transaction }),
  };
}

/**
 * Runs one request against the command table. Never throws: every failure becomes an error response.
 * Returns undefined only for a command name that is not even well-formed (nowhere sensible to answer).
 */
export async function dispatchRequest(
  table: CommandTable,
  command: string,
  payload: Uint8Array,
  requester?: string,
): Promise<CommandResponse | undefined> {
  if (!COMMAND_PATTERN.test(command)) return undefined;
  const parsed = parseRequest(payload);
  if (!parsed.ok) return errorResponse(parsed.error, salvageTransaction(payload));
  const { args, transaction } = parsed.request;
  const handler = Object.hasOwn(table, command) ? table[command] : undefined;
  if (!handler) {
    const known = Object.keys(table).sort().join(', ');
    return errorResponse(
      new CommandError('unknown-command', `unknown command "${command}" (known: ${known})`),
      transaction,
    );
  }
  try {
    return okResponse(
      await handler(args, { transaction, ...(requester === undefined ? {} : { requester }) }),
      transaction,
    );
  } catch (error) {
    if (error instanceof CommandError) return errorResponse(error, transaction);
    return errorResponse(
      new CommandError('internal', (error as Error).message ?? String(error)),
      transaction,
    );
  }
}
