/**
 * The "must not" column of docs/architecture.md, checked by `npm run deps` (part of `npm test`).
 * Paths are relative to the directory depcruise runs in, so the same rules also run on the fixture tree in
 * test/fixtures/dependency-rules (test/conventions/dependency-rules.test.ts shows each rule catching an import).
 */

/** Node built-ins and packages that reach the outside world: files, processes, sockets, codecs, brokers, S3. */
const IO_MODULES = [
  '^(node:)?(fs|fs/promises|child_process|net|tls|dgram|http|https|http2|worker_threads|os)$',
  '(^|/)node_modules/(fluent-ffmpeg|sharp|mqtt|aedes|node-cron|@aws-sdk/[^/]+|@ffmpeg-installer/[^/]+)/',
  '^(fluent-ffmpeg|sharp|mqtt|aedes|node-cron|@aws-sdk/[^/]+)$',
];

/** The MQTT client, broker and our adapters around them. */
const MQTT = ['^src/mqtt/', '(^|/)node_modules/(mqtt|aedes)/', '^(mqtt|aedes)$'];

/** ffmpeg itself and the code that spawns it. */
const FFMPEG = ['^src/video/ffmpeg', '(^|/)node_modules/(fluent-ffmpeg|@ffmpeg-installer/[^/]+)/', '^fluent-ffmpeg$'];

/** The pure cores: no I/O, no wall clock; tested without either. */
const PURE_CORES = [
  '^src/motion/',
  '^src/evaluation/(score|report-table|ground-truth)\\.ts$',
  '^src/geometry/',
  '^src/device/(doorbell|battery)\\.ts$',
  '^src/retention/(policy|enforcement|modes)\\.ts$',
  '^src/recording/clip-planner\\.ts$',
  '^src/privacy/(share-policy|clip-links)\\.ts$',
  '^src/mqtt/topics\\.ts$',
  '^src/events/',
  '^src/clock/clock\\.ts$',
];

/** Every rule is an error: a broken seam fails `npm test`, it is not a warning to scroll past. */
function forbid(rule) {
  return { severity: 'error', ...rule };
}

module.exports = {
  forbidden: [
    forbid({
      name: 'no-cycles',
      comment:
        'Import cycles make start-up order and module-level state depend on who imports first. The swc parser ' +
        'cannot tell `import type` apart, so a cycle through types counts too: give the shared type one home.',
      from: {},
      to: { circular: true },
    }),
    forbid({
      name: 'events-not-mqtt',
      comment: 'events/ is the one source of truth for payloads; it must not know about MQTT.',
      from: { path: '^src/events/' },
      to: { path: MQTT },
    }),
    forbid({
      name: 'pure-cores-no-io',
      comment:
        'The cores (detector, device state machine, retention policy, clip planner, share policy, topic map, ' +
        'event schemas) are pure: no files, processes, sockets, codecs or brokers.',
      from: { path: PURE_CORES },
      to: { path: IO_MODULES },
    }),
    forbid({
      name: 'motion-not-video',
      comment: 'motion/ sees frames, not files: decoding belongs to video/.',
      from: { path: '^src/motion/' },
      to: { path: '^src/video/' },
    }),
    forbid({
      name: 'video-does-not-detect',
      comment: 'video/ decodes frames; detecting motion in them is motion/.',
      from: { path: '^src/video/' },
      to: { path: '^src/motion/(detector|cell-diff|diff-cells)' },
    }),
    forbid({
      name: 'device-not-adapters',
      comment:
        'device/ must not call ffmpeg, S3 or MQTT directly: the agent hands it what it needs. Command errors and ' +
        'tables (mqtt/requests) and the topic map are plain values; share-desk names the DeviceLink type only.',
      from: { path: '^src/device/' },
      to: {
        path: [...FFMPEG, ...MQTT, '^src/storage/s3-bucket', '(^|/)node_modules/@aws-sdk/', '^@aws-sdk/'],
        pathNot: '^src/mqtt/(requests|topics|device-link)\\.ts$',
      },
    }),
    forbid({
      name: 'recording-does-not-upload',
      comment: 'recording/ cuts clips and hands them to the upload queue; it never talks to a bucket.',
      from: { path: '^src/recording/' },
      to: {
        path: ['^src/storage/(bucket|fs-bucket|s3-bucket|bucket-url)\\.ts$', '(^|/)node_modules/@aws-sdk/'],
      },
    }),
    forbid({
      name: 'storage-does-not-decide-policy',
      comment: 'storage/ records retention metadata; what expires and when is swept is retention/.',
      from: { path: '^src/storage/' },
      to: { path: '^src/retention/(sweep|sweeper|legal-hold)\\.ts$' },
    }),
    forbid({
      name: 'config-reads-only',
      comment: 'config/ reads the file it is given and nothing else: no processes, sockets or capabilities.',
      from: { path: '^src/config/' },
      to: {
        path: [
          '^(node:)?(child_process|net|tls|dgram|http|https|http2|worker_threads)$',
          '^src/(agent|device|fleet|mqtt|replay|recording|retention|storage|video|ui|cli)/',
        ],
      },
    }),
    forbid({
      name: 'stream-serves-only',
      comment:
        'stream/ serves the encoded picture (RTSP, HLS, MJPEG, snapshots); what moves is motion/ and what is kept ' +
        'is storage/ and recording/.',
      from: { path: '^src/stream/' },
      to: { path: ['^src/motion/', '^src/storage/', '^src/recording/', '^src/retention/'] },
    }),
    forbid({
      name: 'onvif-maps-core-events',
      comment:
        'onvif/ maps the device bus events and the stream URLs onto ONVIF: it keeps no event model of its own, so ' +
        'it neither detects motion, drives the doorbell, records, stores nor talks MQTT.',
      from: { path: '^src/onvif/' },
      to: { path: ['^src/motion/', '^src/device/', '^src/recording/', '^src/storage/', ...MQTT] },
    }),
    forbid({
      name: 'fleet-not-replay',
      comment: 'The fleet builds devices from the device core like the agent does; it must not lean on replay/.',
      from: { path: '^src/fleet/' },
      to: { path: '^src/replay/' },
    }),
    forbid({
      name: 'nothing-imports-cli',
      comment:
        'cli/ is thin: it parses, wires and prints. Anything worth importing from it is logic that belongs in ' +
        'a module, so no module outside cli/ may import it.',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    }),
    forbid({
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      from: {},
      to: { couldNotResolve: true },
    }),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // TypeScript 7 has no JavaScript compiler API for dependency-cruiser to parse with; swc parses TS instead.
    parser: 'swc',
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};
