/**
 * Links in clip events (`url`, `urlExpiresAt` on events/clip): the owner's policy, and when a link is given and for
 * how long. Pure: the agent signs or presigns what this decides (src/agent/clip-links.ts).
 */

/** The owner's say (profile `privacy.clipLinks`, changed with config-set like every privacy setting). */
export interface ClipLinkPolicy {
  /** false: no clip event carries a link. */
  enabled: boolean;
  /** How long a link works, from the moment the clip is announced. */
  ttlMs: number;
  /** An end-to-end encrypted clip gets a link to its envelope too (only the owner's key opens it). */
  ciphertext: boolean;
}

export const DEFAULT_CLIP_LINK_POLICY: ClipLinkPolicy = {
  enabled: true,
  // Like the recording URLs of commercial doorbells (Ring's expire after 15 minutes).
  ttlMs: 15 * 60_000,
  ciphertext: false,
};
/** Bounds of ttlMs: S3 presigns for a week at most. */
export const CLIP_LINK_TTL_MS = { min: 60_000, max: 7 * 86_400_000 } as const;

export type ClipLinkDecision =
  | { give: true; signedAtMs: number; expiresAtMs: number }
  | { give: false; why: 'disabled' | 'encrypted' };

/**
 * Whether a stored clip's event carries a link, and until when. In whole seconds: a presigned S3 URL (X-Amz-Date,
 * X-Amz-Expires) and a folder link (`expires`) both count in seconds, so the expiry announced is exactly the one
 * enforced, never later.
 */
export function decideClipLink(
  policy: ClipLinkPolicy,
  clip: { encrypted: boolean },
  nowMs: number,
): ClipLinkDecision {
  if (!policy.enabled) return { give: false, why: 'disabled' };
  if (clip.encrypted && !policy.ciphertext) return { give: false, why: 'encrypted' };
  const signedAtMs = Math.floor(nowMs / 1000) * 1000;
  return { give: true, signedAtMs, expiresAtMs: signedAtMs + Math.floor(policy.ttlMs / 1000) * 1000 };
}
