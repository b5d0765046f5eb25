import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { decryptFile, decryptToFile, type EnvelopeBinding } from '../../privacy/envelope.js';
import { loadOwnerPrivateKey, OwnerKeyError } from '../../privacy/owner-keys.js';
import { openBucket } from '../../storage/bucket-url.js';
import { assertSafeKey, InvalidKeyError, parseClipKey } from '../../storage/keys.js';
import { UserError, writeLine } from '../io.js';
import { defineCommand } from '../spec.js';

export const command = defineCommand('decrypt', {
  summary: 'decrypt an end-to-end encrypted clip or snapshot with the owner key',
  synopsis: 'OBJECT --key owner.pem [options]',
  about: 'OBJECT: a path to an encrypted file, or with --bucket an object key (clips/<device>/…/<clip>.mp4)',
  positionals: true,
  options: {
    key: { type: 'string', value: 'FILE', help: "the owner's private key (from `doorbell keys generate`)" },
    out: {
      type: 'string',
      value: 'FILE',
      help: "where to write the clip; default: OBJECT's name (minus .enc) in the current directory",
    },
    bucket: {
      type: 'string',
      value: 'URL',
      help:
        'DIR | file:///DIR | s3://NAME?endpoint=…  read OBJECT from this bucket; the envelope must have been ' +
        'sealed as that key and clip, so an object copied over another key is refused',
    },
    force: { type: 'boolean', help: 'replace the output file if it exists' },
    'allow-unbound': {
      type: 'boolean',
      help: 'with --bucket, also open objects sealed before envelopes were bound to their key (v1)',
    },
  },
  notes:
    'exit 2 with one line when the file was modified, truncated or the key is wrong; nothing is written then',
  async run({ values, positionals }, io) {
    const [object] = positionals;
    if (!object || positionals.length > 1) throw new UserError('give exactly one OBJECT to decrypt');
    const binding = values.bucket === undefined ? undefined : bindingOf(object);
    if (!values.key) throw new UserError('--key owner.pem is required');
    const keyPath = resolve(io.cwd, values.key);
    const privateKey = await readKey(keyPath);
    const inputPath = values.bucket === undefined ? resolve(io.cwd, object) : undefined;
    const outPath = outputPath(object, values.out, inputPath, io.cwd);
    if (!values.force && existsSync(outPath)) {
      throw new UserError(`${outPath} already exists (use --out FILE or --force)`);
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
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && inputPath && !existsSync(inputPath)) {
        throw new UserError(`${inputPath} not found`, 2);
      }
      throw error;
    }
  },
});

async function readKey(path: string) {
  const pem = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UserError(`cannot read key ${path}: ${error.code ?? error.message}`);
  });
  try {
    return loadOwnerPrivateKey(pem);
  } catch (error) {
    if (error instanceof OwnerKeyError) throw new UserError(`${path}: ${error.message}`);
    throw error;
  }
}

/** A bucket OBJECT is a clip or thumbnail key (checked before anything is opened); its envelope must match it. */
function bindingOf(object: string): EnvelopeBinding {
  try {
    assertSafeKey(object);
  } catch (error) {
    if (error instanceof InvalidKeyError) throw new UserError(`OBJECT: ${error.message}`);
    throw error;
  }
  const parsed = parseClipKey(object);
  if (!parsed) {
    throw new UserError(
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
