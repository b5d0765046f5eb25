import { parseArgs } from 'node:util';
import { type CliCommand, type CliIo, UserError } from './io.js';

/** One option of a command: how it parses, where it falls back to, and its line in `--help`. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  /** The value's placeholder in help: N, FILE, URL… (string options). */
  value?: string;
  help: string;
  /** The environment variable read when the flag is not given (flags win). */
  env?: string;
}

export type OptionSpecs = Record<string, OptionSpec>;

/** What parsing yields: each option as a string or boolean, undefined when neither the flag nor its env var is set. */
export type OptionValues<O extends OptionSpecs> = {
  [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string;
};

export interface Parsed<O extends OptionSpecs> {
  values: OptionValues<O>;
  positionals: string[];
}

/** One command, or one action of a command with actions (`doorbell auth add-user …`). */
export interface InvocationSpec<O extends OptionSpecs> {
  /** What follows the command (and action) name in the usage line, e.g. `FILE [options]`. */
  synopsis: string;
  /** Lines under the usage: what the command does, what its positionals are. */
  about?: string;
  options: O;
  /** Whether it takes positionals (otherwise one is a usage error). */
  positionals?: boolean;
  run(parsed: Parsed<O>, io: CliIo): Promise<number>;
}

export interface CommandSpec<O extends OptionSpecs> extends InvocationSpec<O> {
  /** One line for `doorbell help`. */
  summary: string;
  /** Lines after the options: exit codes, examples. */
  notes?: string;
}

export interface ActionsSpec {
  summary: string;
  actions: Record<string, InvocationSpec<OptionSpecs>>;
  notes?: string;
}

/** Parses `args` by the spec: flags first, then each option's env var. */
export function parseOptions<O extends OptionSpecs>(
  spec: InvocationSpec<O>,
  args: string[],
  io: CliIo,
): Parsed<O> {
  const { values, positionals } = parseArgs({
    args,
    options: Object.fromEntries(
      Object.entries(spec.options).map(([name, option]) => [name, { type: option.type }]),
    ),
    allowPositionals: spec.positionals ?? false,
    strict: true,
  });
  const merged: Record<string, string | boolean | undefined> = { ...values };
  for (const [name, option] of Object.entries(spec.options)) {
    if (merged[name] === undefined && option.env !== undefined && io.env[option.env] !== undefined) {
      merged[name] = option.type === 'boolean' ? io.env[option.env] !== '0' : io.env[option.env];
    }
  }
  return { values: merged as OptionValues<O>, positionals };
}

/** `--name VALUE   help [env NAME]`, one line per option, aligned. */
export function optionHelp(options: OptionSpecs): string {
  const heads = Object.entries(options).map(
    ([name, option]) => `--${name}${option.value ? ` ${option.value}` : ''}`,
  );
  const width = Math.min(28, Math.max(...heads.map((head) => head.length)) + 2);
  return Object.values(options)
    .map((option, i) => {
      const head = heads[i]!;
      const env = option.env ? ` [env ${option.env}]` : '';
      const text = `${option.help}${env}`;
      return head.length >= width
        ? `  ${head}\n  ${' '.repeat(width)}${text}`
        : `  ${head.padEnd(width)}${text}`;
    })
    .join('\n');
}

function invocationUsage(prefix: string, spec: InvocationSpec<OptionSpecs>): string {
  const parts = [`${prefix} ${spec.synopsis}`.trimEnd()];
  if (spec.about) parts.push(spec.about);
  if (Object.keys(spec.options).length > 0) parts.push(optionHelp(spec.options));
  return parts.join('\n\n');
}

/** A `doorbell NAME` command from its spec: parsing, env fallback and `--help` all come from the one table. */
export function defineCommand<O extends OptionSpecs>(name: string, spec: CommandSpec<O>): CliCommand {
  const usage = invocationUsage(`doorbell ${name}`, spec as unknown as InvocationSpec<OptionSpecs>);
  return {
    summary: spec.summary,
    usage: spec.notes ? `${usage}\n\n${spec.notes}` : usage,
    options: spec.options,
    run: (args, io) => spec.run(parseOptions(spec, args, io), io),
  };
}

/** A command whose first argument picks an action, each with its own options. */
export function defineActions(name: string, spec: ActionsSpec): CliCommand {
  const names = Object.keys(spec.actions);
  const choices = names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
  const sections = Object.entries(spec.actions).map(([action, invocation]) =>
    invocationUsage(`doorbell ${name} ${action}`, invocation),
  );
  return {
    summary: spec.summary,
    usage: [...sections, ...(spec.notes ? [spec.notes] : [])].join('\n\n'),
    options: Object.assign({}, ...Object.values(spec.actions).map((invocation) => invocation.options)),
    async run(args, io) {
      const [action, ...rest] = args;
      const invocation =
        action !== undefined && Object.hasOwn(spec.actions, action) ? spec.actions[action] : undefined;
      if (!invocation) {
        throw new UserError(`${action ? `unknown action "${action}"` : 'missing action'} (use ${choices})`);
      }
      return invocation.run(parseOptions(invocation, rest, io), io);
    },
  };
}

/** An action of defineActions, typed by its own options. */
export function action<O extends OptionSpecs>(spec: InvocationSpec<O>): InvocationSpec<OptionSpecs> {
  return spec as unknown as InvocationSpec<OptionSpecs>;
}
