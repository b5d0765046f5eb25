import { createReadStream, type Stats } from 'node:fs';
import {
  type FileHandle,
  link,
  mkdir,
  open,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  rmdir,
  stat,
} from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { fsyncDir, isTempName, tempPathFor, writeFileAtomic } from '../persist/durable-write.js';
import { errnoCode } from '../persist/fs-errors.js';
import {
  type Bucket,
  checkMetadata,
  IntegrityError,
  InvalidMetadataError,
  type ObjectHead,
  type ObjectMetadata,
  ObjectNotFoundError,
  type ObjectSummary,
  type PutOptions,
  type PutResult,
} from './bucket.js';
import { copyAndHash, hashHandle } from './hashing.js';
import { assertSafeKey, assertSafePrefix, InvalidKeyError } from './keys.js';

export const DEFAULT_FS_BUCKET_ROOT = './.doorbell/bucket';
const SIDECAR_SUFFIX = '.meta.json';

interface Sidecar {
  v: 1;
  bytes: number;
  sha256: string;
  metadata: ObjectMetadata;
}

export interface FsBucketOptions {
  /** Hard-link immutable sources on the same file system instead of copying them (default true). */
  linkImmutableSources?: boolean;
}

/**
 * A bucket in a local folder: objects at <root>/<key>, metadata in an atomic <key>.meta.json sidecar.
 * Objects are written to a hidden temp file, verified, fsync'd and renamed, so a crash never leaves a half
 * object under the real key.
 */
export class FsBucket implements Bucket {
  readonly root: string;
  private readonly linkImmutableSources: boolean;
  private rootReady: Promise<string> | undefined;

  constructor(root: string, options: FsBucketOptions = {}) {
    this.root = resolve(root);
    this.linkImmutableSources = options.linkImmutableSources ?? true;
  }

  describe(): string {
    return pathToFileURL(this.root).href;
  }

  async put(
    key: string,
    sourcePath: string,
    metadata: ObjectMetadata,
    options: PutOptions = {},
  ): Promise<PutResult> {
    const path = this.pathOf(key);
    const checked = checkMetadata(metadata);
    const expectedSha256 = checked['sha256'];
    const realRoot = await this.ensureRoot();
    await mkdir(dirname(path), { recursive: true });
    await this.assertRealPathInside(dirname(path), realRoot, key);

    const temp = tempPathFor(path);
    const source = await open(sourcePath, 'r');
    let digest: { bytes: number; sha256: string };
    try {
      const sourceStat = await source.stat();
      // A concurrent delete may prune the (empty) folder between mkdir and here: recreate it once.
      const linked = await retryInFreshDir(dirname(path), async () =>
        options.immutableSource === true && this.linkImmutableSources
          ? this.tryLink(sourcePath, temp, sourceStat)
          : false,
      );
      const stored = linked
        ? await open(temp, 'r')
        : await retryInFreshDir(dirname(path), () => open(temp, 'wx'));
      try {
        // Copied: hash exactly the bytes handed to write(). Linked: the stored object is the source's inode, so the
        // digest its producer vouched for (metadata sha256, immutable source) is the digest of what is stored;
        // without one, hash the inode.
        digest = !linked
          ? await copyAndHash(source, stored)
          : expectedSha256 !== undefined
            ? { bytes: sourceStat.size, sha256: expectedSha256 }
            : await hashHandle(stored);
        await stored.sync();
        const storedSize = (await stored.stat()).size;
        if (storedSize !== digest.bytes || digest.bytes !== sourceStat.size) {
          throw new IntegrityError(
            `put ${key}: stored ${storedSize} bytes, read ${digest.bytes}, source has ${sourceStat.size} (changed while copying?)`,
          );
        }
        if (expectedSha256 !== undefined && digest.sha256 !== expectedSha256) {
          throw new IntegrityError(
            `put ${key}: source sha256 ${digest.sha256} differs from expected ${expectedSha256}`,
          );
        }
      } finally {
        await stored.close();
      }
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw error;
    } finally {
      await source.close();
    }
    await fsyncDir(dirname(path));
    const sidecar: Sidecar = {
      v: 1,
      bytes: digest.bytes,
      sha256: digest.sha256,
      metadata: { ...checked, sha256: digest.sha256 },
    };
    await writeFileAtomic(path + SIDECAR_SUFFIX, JSON.stringify(sidecar));
    return { key, bytes: digest.bytes, sha256: digest.sha256 };
  }

  async head(key: string): Promise<ObjectHead | undefined> {
    const path = this.pathOf(key);
    const info = await statFile(path);
    if (!info) return undefined;
    const sidecar = await readSidecar(path + SIDECAR_SUFFIX);
    // A sidecar that disagrees with the object's size describes some other version: report no checksum.
    if (!sidecar || sidecar.bytes !== info.size)
      return { key, bytes: info.size, sha256: '', metadata: sidecar?.metadata ?? {} };
    return {
      key,
      bytes: info.size,
      sha256: sidecar.sha256,
      metadata: sidecar.metadata,
      sha256Verified: true,
    };
  }

  async get(key: string): Promise<Readable> {
    const path = this.pathOf(key);
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'EISDIR')
        throw new ObjectNotFoundError(this.describe(), key);
      throw error;
    }
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      throw new ObjectNotFoundError(this.describe(), key);
    }
    return createReadStream('', { fd: handle, highWaterMark: 1 << 20 });
  }

  async *list(prefix: string): AsyncIterable<ObjectSummary> {
    assertSafePrefix(prefix);
    // Walk only the deepest folder the prefix fully names.
    const lastSlash = prefix.lastIndexOf('/');
    const startKey = lastSlash >= 0 ? prefix.slice(0, lastSlash) : '';
    const startDir = startKey === '' ? this.root : this.pathOf(startKey);
    const found: ObjectSummary[] = [];
    await this.walk(startDir, found);
    found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const entry of found) if (entry.key.startsWith(prefix)) yield entry;
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    await rm(path, { force: true });
    await rm(path + SIDECAR_SUFFIX, { force: true });
    await this.pruneEmptyDirs(dirname(path));
  }

  async updateMetadata(key: string, patch: ObjectMetadata): Promise<ObjectHead> {
    const checkedPatch = checkMetadata(patch);
    const current = await this.head(key);
    if (!current) throw new ObjectNotFoundError(this.describe(), key);
    if (checkedPatch['sha256'] !== undefined && checkedPatch['sha256'] !== current.sha256) {
      throw new InvalidMetadataError(
        `updateMetadata ${key}: sha256 describes the bytes and cannot be changed`,
      );
    }
    const metadata = checkMetadata({ ...current.metadata, ...checkedPatch });
    const sidecar: Sidecar = { v: 1, bytes: current.bytes, sha256: current.sha256, metadata };
    await writeFileAtomic(this.pathOf(key) + SIDECAR_SUFFIX, JSON.stringify(sidecar));
    return { ...current, metadata };
  }

  /** The file path of a key, refusing anything that would resolve outside the root. */
  pathOf(key: string): string {
    assertSafeKey(key);
    if (key.endsWith(SIDECAR_SUFFIX))
      throw new InvalidKeyError(`key "${key}" ends with the reserved "${SIDECAR_SUFFIX}"`);
    const path = resolve(this.root, ...key.split('/'));
    if (!path.startsWith(this.root + sep))
      throw new InvalidKeyError(`key "${key}" resolves outside the bucket root`);
    return path;
  }

  private ensureRoot(): Promise<string> {
    this.rootReady ??= mkdir(this.root, { recursive: true })
      .then(() => realpath(this.root))
      .catch((error: unknown) => {
        this.rootReady = undefined;
        throw error;
      });
    return this.rootReady;
  }

  private async assertRealPathInside(dir: string, realRoot: string, key: string): Promise<void> {
    const real = await realpath(dir);
    if (real !== realRoot && !real.startsWith(realRoot + sep)) {
      throw new InvalidKeyError(`key "${key}" resolves outside the bucket root (through a symbolic link)`);
    }
  }

  private async tryLink(sourcePath: string, temp: string, sourceStat: Stats): Promise<boolean> {
    const rootStat = await stat(this.root);
    if (rootStat.dev !== sourceStat.dev) return false;
    try {
      await link(sourcePath, temp);
      return true;
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'EXDEV' || code === 'EPERM' || code === 'EMLINK' || code === 'ENOTSUP') return false;
      throw error;
    }
  }

  private async walk(dir: string, out: ObjectSummary[]): Promise<void> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return;
      throw error;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.') || isTempName(entry.name)) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        await this.walk(full, out);
      } else if (entry.isFile() && !entry.name.endsWith(SIDECAR_SUFFIX)) {
        const info = await statFile(full);
        if (info) out.push({ key: relative(this.root, full).split(sep).join('/'), bytes: info.size });
      }
    }
  }

  private async pruneEmptyDirs(from: string): Promise<void> {
    let dir = from;
    while (dir.startsWith(this.root + sep)) {
      try {
        await rmdir(dir);
      } catch {
        return;
      }
      dir = dirname(dir);
    }
  }
}

async function retryInFreshDir<T>(dir: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
    await mkdir(dir, { recursive: true });
    return action();
  }
}

async function statFile(path: string): Promise<Stats | undefined> {
  try {
    const info = await stat(path);
    return info.isFile() ? info : undefined;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return undefined;
    throw error;
  }
}

async function readSidecar(path: string): Promise<Sidecar | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<Sidecar>;
    if (
      typeof parsed.bytes !== 'number' ||
      typeof parsed.sha256 !== 'string' ||
      typeof parsed.metadata !== 'object'
    ) {
      return undefined;
    }
    return {
      v: 1,
      bytes: parsed.bytes,
      sha256: parsed.sha256,
      metadata: checkMetadata(parsed.metadata ?? {}),
    };
  } catch {
    return undefined;
  }
}
