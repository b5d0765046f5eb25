import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { decryptFile, decryptToFile, type EnvelopeBinding, EnvelopeError } from '../../privacy/envelope.js';
import { loadOwnerPrivateKey, OwnerKeyError } from '../../privacy/owner-keys.js';
import { ObjectNotFoundError } from '../../storage/bucket.js';
import { BucketUrlError, openBucket } from '../../storage/bucket-url.js';
import { assertSafeKey, InvalidKeyError, parseClipKey } from '../../storage/keys.js';
import { type CliCommand, UsageError, writeLine } from '../io.js';

export const command: CliCommand = {
  summary: 'decrypt an end-to-end encrypted clip or snapshot with the owner key',
  usage: `doorbell decrypt OBJECT --key owner.pem [--out FILE] [--bucket URL] [--force] [--allow-unbound]

  OBJECT     a path to an encrypted file, or with --bucket an object key (clips/<device>/…/<clip>.mp4)
  --key      the owner's private key (from \`doorbell keys generate\`)
  --out      where to write the clip; default: OBJECT's name (minus .enc) in the current directory
  --bucket   DIR | file:///DIR | s3://NAME?endpoint=…  read OBJECT from this bucket; the envelope must have been
             sealed as that key and clip, so an object copied over another key is refused
  --allow-unbound  with --bucket, also open objects sealed before envelopes were bound to their key (v1)
  exit 2 with one line when the file was modified, truncated or the key is wrong; nothing is written then`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        key: { type: 'string' },
        out: { type: 'string' },
        bucket: { type: 'string' },
        force: { type: 'boolean' },
        'allow-unbound': { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    });
    const [object] = positionals;
    if (!object || positionals.length > 1) throw new UsageError('give exactly one OBJECT to decrypt');
    const binding = values.bucket === undefined ? undefined : bindingOf(object);
    if (!values.key) throw new UsageError('--key owner.pem is required');
    const keyPath = resolve(io.cwd, values.key);
    const privateKey = await readKey(keyPath);
    const inputPath = values.bucket === undefined ? resolve(io.cwd, object) : undefined;
    const outPath = outputPath(object, values.out, inputPath, io.cwd);
    if (!values.force && existsSync(outPath)) {
      throw new UsageError(`${outPath} already exists (use --out FILE or --force)`);
    }
    try {
      const { plaintextBytes } =
        values.bucket === undefined
          ? await decryptFile(inputPath!, outPath, privateKey)
          : await decryptFromBucket(values.bucket, binding!, outPath, privateKey, io.cwd, {
              allowUnbound: values['allow-unbound'] ?? false,
            });
      writeLine(io.stdout, `decrypted ${object} → ${outPath} (${plaintextBytes} bytes)`);
      return 0;
    } catch (error) {
      if (error instanceof EnvelopeError) throw new UsageError(error.message, 2);
      if (error instanceof ObjectNotFoundError || error instanceof BucketUrlError)
        throw new UsageError(error.message, 2);
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && inputPath && !existsSync(inputPath)) {
        throw new UsageError(`${inputPath} not found`, 2);
      }
      throw error;
    }
  },
};

async function readKey(path: string) {
  const pem = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read key ${path}: ${error.code ?? error.message}`);
  });
  try {
    return loadOwnerPrivateKey(pem);
  } catch (error) {
    if (error instanceof OwnerKeyError) throw new UsageError(`${path}: ${error.message}`);
    throw error;
  }
}

/** A bucket OBJECT is a clip or thumbnail key (checked before anything is opened); its envelope must match it. */
function bindingOf(object: string): EnvelopeBinding {
  try {
    assertSafeKey(object);
  } catch (error) {
    if (error instanceof InvalidKeyError) throw new UsageError(`OBJECT: ${error.message}`);
    throw error;
  }
  const parsed = parseClipKey(object);
  if (!parsed) {
    throw new UsageError(
      `OBJECT ${JSON.stringify(object)} is not a clip key (clips/<device>/<yyyy>/<mm>/<dd>/<clip>.mp4 or .jpg)`,
    );
  }
  return { key: object, clipId: parsed.clipId };
}

async function decryptFromBucket(
  bucketUrl: string,
  binding: EnvelopeBinding,
  outPath: string,
  privateKey: ReturnType<typeof loadOwnerPrivateKey>,
  cwd: string,
  options: { allowUnbound: boolean },
) {
  const bucket = openBucket(bucketUrl, cwd);
  const source = await bucket.get(binding.key);
  return decryptToFile(source, outPath, privateKey, {
    label: binding.key,
    expect: binding,
    allowUnbound: options.allowUnbound,
  });
}

function outputPath(
  object: string,
  out: string | undefined,
  inputPath: string | undefined,
  cwd: string,
): string {
  if (out !== undefined) return resolve(cwd, out);
  const name = basename(object).replace(/\.enc$/, '') || 'clip';
  const candidate = resolve(cwd, name);
  if (candidate !== inputPath) return candidate;
  const ext = extname(name);
  return resolve(cwd, `${name.slice(0, name.length - ext.length)}.decrypted${ext}`);
}
