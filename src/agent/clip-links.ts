import type { Clock } from '../clock/clock.js';
import type { SignedLinks } from '../device/signed-links.js';
import { iso } from '../events/envelope.js';
import type { Logger } from '../log/logger.js';
import { type ClipLinkPolicy, decideClipLink } from '../privacy/clip-links.js';
import type { Bucket } from '../storage/bucket.js';

/** What a stored clip's event says of its link (both or neither). */
export interface ClipLink {
  url: string;
  urlExpiresAt: string;
}

export interface ClipLinkSources {
  bucket: Bucket;
  /** The console's signed links, for a bucket that cannot sign its own. */
  links: SignedLinks | undefined;
  clock: Clock;
  logger: Logger;
}

/**
 * The link a stored clip's event carries, if the owner's policy gives one (see decideClipLink): a presigned GET
 * from a bucket that signs its own (S3), else a signed link on the console. Never throws: a clip event without a
 * link is still the clip event.
 */
export async function clipLinkOf(
  clip: { clipId: string; key: string; encrypted: boolean },
  policy: ClipLinkPolicy,
  sources: ClipLinkSources,
): Promise<ClipLink | undefined> {
  const decision = decideClipLink(policy, clip, sources.clock.now());
  if (!decision.give) return undefined;
  const urlExpiresAt = iso(decision.expiresAtMs);
  const { bucket, logger } = sources;
  if (bucket.presignGet) {
    const expiresInS = (decision.expiresAtMs - decision.signedAtMs) / 1000;
    try {
      const url = await bucket.presignGet(clip.key, { signedAtMs: decision.signedAtMs, expiresInS });
      return { url, urlExpiresAt };
    } catch (error) {
      // No credentials to sign with, say: the clip is stored all the same, and announced without a link.
      logger.error({ clipId: clip.clipId, err: (error as Error).message }, 'could not presign the clip link');
      return undefined;
    }
  }
  // A folder bucket has no server of its own: its links are served by the console (/shared). With no console
  // running there is nothing a link could reach, so the event goes without one rather than with a dead link.
  const url = sources.links?.url(clip.key, decision.expiresAtMs);
  return url === undefined ? undefined : { url, urlExpiresAt };
}
