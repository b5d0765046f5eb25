import type { Clock } from '../clock/clock.js';
import { signUrl, verifySignedUrl } from '../privacy/signed-url.js';
import type { Bucket } from '../storage/bucket.js';
import { CLIP_META } from '../storage/clip-metadata.js';
import type { SharedLinkResult } from '../ui/backend.js';

/** Where the console serves signed links: `/shared/<key>?expires=…&sig=…`. */
export const SIGNED_LINK_PATH = '/shared';

export interface SignedLinksOptions {
  bucket: Bucket;
  /** The links' HMAC key, kept in the device's data dir (links outlive a restart). */
  secret: Buffer;
  /** Device time: a link expires by it (replay runs on a virtual clock). */
  clock: Clock;
  /** The console's origin while it serves, else undefined. */
  origin: () => string | undefined;
}

/**
 * Time-limited links to objects in the device's bucket, served by the console under /shared: the clips a share
 * request releases, and the clip-event links of a bucket that cannot presign (a folder). One signer, one verifier,
 * one route for both.
 */
export class SignedLinks {
  constructor(private readonly options: SignedLinksOptions) {}

  /** The link's path and query, valid on whatever origin serves the console. */
  path(key: string, expiresAtMs: number): string {
    return signUrl(key, expiresAtMs, this.options.secret, { prefix: SIGNED_LINK_PATH });
  }

  /** The absolute link, or undefined while no console serves links. */
  url(key: string, expiresAtMs: number): string | undefined {
    const origin = this.options.origin();
    return origin === undefined ? undefined : `${origin}${this.path(key, expiresAtMs)}`;
  }

  /** Serves a link: the object, or why not (403 tampered, 410 expired, 404 no longer stored). */
  async open(pathAndQuery: string): Promise<SharedLinkResult> {
    const { bucket, clock, secret } = this.options;
    const check = verifySignedUrl(pathAndQuery, clock.now(), secret, { prefix: SIGNED_LINK_PATH });
    if (!check.ok) {
      const status = check.reason === 'expired' ? 410 : 403;
      return {
        status,
        message: check.reason === 'expired' ? 'this link has expired' : 'this link is not valid',
      };
    }
    const head = await bucket.head(check.key);
    if (!head) return { status: 404, message: 'the clip is no longer stored' };
    const encrypted = head.metadata[CLIP_META.encrypted] === 'true';
    return { stream: await bucket.get(check.key), bytes: head.bytes, encrypted };
  }
}
