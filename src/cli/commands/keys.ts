import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generateOwnerKeys, OwnerKeyError, ownerKeyId } from '../../privacy/owner-keys.js';
import { type CliCommand, UsageError, writeLine } from '../io.js';

const USAGE = `doorbell keys generate [--out DIR] [--force]
       doorbell keys id FILE

  generate   write an owner key pair: DIR/owner.pem (private, mode 0600 — keep it off the device) and
             DIR/owner.pub.pem (give this to the device profile); DIR defaults to the current directory
  id         print the key id of a public or private owner key (matches the enc-key-id object metadata)`;

export const command: CliCommand = {
  summary: 'generate the owner key pair for end-to-end clip encryption, or show a key id',
  usage: USAGE,
  async run(args, io) {
    const [action, ...rest] = args;
    if (action === 'generate') return generate(rest, io);
    if (action === 'id') return showId(rest, io);
    throw new UsageError(
      action ? `unknown action "${action}" (use generate or id)` : 'missing action (use generate or id)',
    );
  },
};

async function generate(args: string[], io: Parameters<CliCommand['run']>[1]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { out: { type: 'string' }, force: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const dir = resolve(io.cwd, values.out ?? '.');
  const privatePath = resolve(dir, 'owner.pem');
  const publicPath = resolve(dir, 'owner.pub.pem');
  const keys = generateOwnerKeys();
  await mkdir(dir, { recursive: true });
  const flag = values.force ? 'w' : 'wx';
  try {
    await writeFile(privatePath, keys.privateKeyPem, { mode: 0o600, flag });
    await writeFile(publicPath, keys.publicKeyPem, { mode: 0o644, flag });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new UsageError(
        `${(error as NodeJS.ErrnoException).path} already exists (use --force to replace the key pair)`,
      );
    }
    throw error;
  }
  writeLine(
    io.stdout,
    `wrote ${privatePath} (private, 0600) and ${publicPath}; key id ${ownerKeyId(keys.publicKeyPem)}`,
  );
  return 0;
}

async function showId(args: string[], io: Parameters<CliCommand['run']>[1]): Promise<number> {
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true, strict: true });
  const [file] = positionals;
  if (!file || positionals.length > 1)
    throw new UsageError('give exactly one key file: doorbell keys id FILE');
  const path = resolve(io.cwd, file);
  const pem = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${path}: ${error.code ?? error.message}`);
  });
  try {
    writeLine(io.stdout, ownerKeyId(pem));
  } catch (error) {
    if (error instanceof OwnerKeyError) throw new UsageError(`${path}: ${error.message}`);
    throw error;
  }
  return 0;
}
