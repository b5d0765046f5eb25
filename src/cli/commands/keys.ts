import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { generateOwnerKeys, OwnerKeyError, ownerKeyId } from '../../privacy/owner-keys.js';
import { type CliIo, UserError, writeLine } from '../io.js';
import { action, defineActions } from '../spec.js';

export const command = defineActions('keys', {
  summary: 'generate the owner key pair for end-to-end clip encryption, or show a key id',
  actions: {
    generate: action({
      synopsis: '[--out DIR] [--force]',
      about:
        'write an owner key pair: DIR/owner.pem (private, mode 0600 — keep it off the device) and\n' +
        'DIR/owner.pub.pem (give this to the device profile)',
      positionals: true,
      options: {
        out: {
          type: 'string',
          value: 'DIR',
          help: 'where to write the pair (default: the current directory)',
        },
        force: { type: 'boolean', help: 'replace an existing key pair' },
      },
      run: ({ values, positionals }, io) => generate(values, positionals, io),
    }),
    id: action({
      synopsis: 'FILE',
      about: 'print the key id of a public or private owner key (matches the enc-key-id object metadata)',
      positionals: true,
      options: {},
      run: ({ positionals }, io) => showId(positionals, io),
    }),
  },
});

async function generate(
  values: { out?: string | undefined; force?: boolean | undefined },
  positionals: string[],
  io: CliIo,
): Promise<number> {
  if (positionals.length > 0) throw new UserError(`unexpected argument "${positionals[0]}"`);
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
      throw new UserError(
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

async function showId(positionals: string[], io: CliIo): Promise<number> {
  const [file] = positionals;
  if (!file || positionals.length > 1)
    throw new UserError('give exactly one key file: doorbell keys id FILE');
  const path = resolve(io.cwd, file);
  const pem = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UserError(`cannot read ${path}: ${error.code ?? error.message}`);
  });
  try {
    writeLine(io.stdout, ownerKeyId(pem));
  } catch (error) {
    if (error instanceof OwnerKeyError) throw new UserError(`${path}: ${error.message}`);
    throw error;
  }
  return 0;
}
