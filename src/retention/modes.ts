/**
 * Who enforces a clip's retention: the store's Object Lock (it refuses to delete before retain-until), the store's
 * lifecycle rule (it expires tagged objects by itself), or our own sweeper (folder buckets, and buckets with neither).
 */
export const RETENTION_MODES = ['object-lock', 'lifecycle', 'sweeper'] as const;
export type RetentionMode = (typeof RETENTION_MODES)[number];

/** S3 Object Lock retention modes, as the profile names them (lower case) and as S3 spells them. */
export const OBJECT_LOCK_MODES = { governance: 'GOVERNANCE', compliance: 'COMPLIANCE' } as const;
export type ObjectLockModeName = keyof typeof OBJECT_LOCK_MODES;
export type S3ObjectLockMode = (typeof OBJECT_LOCK_MODES)[ObjectLockModeName];
