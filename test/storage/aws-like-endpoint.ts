import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP endpoint that answers the bucket-level retention calls the way AWS S3 does (status, error code, XML
 * body, as recorded from the S3 API reference) and forwards everything else to a real S3-compatible server
 * (s3rver), recording every request as it arrived on the wire. Object Lock itself is AWS's: this endpoint keeps the
 * legal hold of each key (PutObjectLegalHold) and reports it on HEAD as S3 does, nothing more.
 */
export type LockAnswer = 'enabled' | 'absent' | 'not-implemented' | 'denied';
/** headers: response headers of GetBucketLifecycleConfiguration, e.g. x-amz-transition-default-minimum-object-size. */
export type LifecycleAnswer =
  | { xml: string; headers?: Record<string, string> }
  | 'absent'
  | 'not-implemented';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface AwsLikeEndpoint {
  endpoint: string;
  requests: RecordedRequest[];
  /** Key → legal hold status set by PutObjectLegalHold. */
  legalHolds: Map<string, 'ON' | 'OFF'>;
  /** The body of the last PutBucketLifecycleConfiguration (then served to GetBucketLifecycleConfiguration). */
  lifecycle: LifecycleAnswer;
  /** The answer to GetObjectLockConfiguration from now on (a bucket whose permissions change). */
  objectLock: LockAnswer;
  stop(): Promise<void>;
}

const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

function awsError(code: string, message: string, resource: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>` +
    `<BucketName>${resource}</BucketName><RequestId>${randomUUID().slice(0, 16).toUpperCase()}</RequestId>` +
    `<HostId>${Buffer.from(randomUUID()).toString('base64')}</HostId></Error>`
  );
}

const NOT_IMPLEMENTED = {
  status: 501,
  code: 'NotImplemented',
  message: 'A header you provided implies functionality that is not implemented',
};

export async function startAwsLikeEndpoint(options: {
  objectLock: LockAnswer;
  lifecycle: LifecycleAnswer;
  /** Where object requests go (an s3rver endpoint); without it they are answered 404 NoSuchKey. */
  forwardTo?: string;
}): Promise<AwsLikeEndpoint> {
  const requests: RecordedRequest[] = [];
  const legalHolds = new Map<string, 'ON' | 'OFF'>();
  const state: { lifecycle: LifecycleAnswer; objectLock: LockAnswer } = {
    lifecycle: options.lifecycle,
    objectLock: options.objectLock,
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const body = Buffer.concat(chunks);
      const recorded = {
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
      };
      requests.push(recorded);
      const [, bucket = '', ...keyParts] = url.pathname.split('/');
      const key = decodeURIComponent(keyParts.join('/'));
      const send = (status: number, xml: string, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/xml', 'x-amz-request-id': 'STUB', ...headers });
        res.end(xml);
      };
      const fail = (e: { status: number; code: string; message: string }) =>
        send(e.status, awsError(e.code, e.message, bucket));

      if (key === '' && url.searchParams.has('object-lock') && req.method === 'GET') {
        if (state.objectLock === 'enabled') {
          return send(
            200,
            `<?xml version="1.0" encoding="UTF-8"?>\n<ObjectLockConfiguration xmlns="${S3_NS}"><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>`,
          );
        }
        if (state.objectLock === 'absent') {
          return fail({
            status: 404,
            code: 'ObjectLockConfigurationNotFoundError',
            message: 'Object Lock configuration does not exist for this bucket',
          });
        }
        if (state.objectLock === 'denied')
          return fail({ status: 403, code: 'AccessDenied', message: 'Access Denied' });
        return fail(NOT_IMPLEMENTED);
      }
      if (key === '' && url.searchParams.has('lifecycle')) {
        if (req.method === 'PUT') {
          const minimumSize = req.headers['x-amz-transition-default-minimum-object-size'];
          state.lifecycle = {
            xml: body.toString('utf8'),
            ...(typeof minimumSize === 'string'
              ? { headers: { 'x-amz-transition-default-minimum-object-size': minimumSize } }
              : {}),
          };
          return send(200, '');
        }
        const answer = state.lifecycle;
        if (answer === 'absent') {
          return fail({
            status: 404,
            code: 'NoSuchLifecycleConfiguration',
            message: 'The lifecycle configuration does not exist',
          });
        }
        if (answer === 'not-implemented') return fail(NOT_IMPLEMENTED);
        return send(200, answer.xml, answer.headers);
      }
      if (key !== '' && url.searchParams.has('legal-hold') && req.method === 'PUT') {
        const status = /<Status>(ON|OFF)<\/Status>/.exec(body.toString('utf8'))?.[1] as
          | 'ON'
          | 'OFF'
          | undefined;
        if (!status)
          return fail({
            status: 400,
            code: 'MalformedXML',
            message: 'The XML you provided was not well-formed',
          });
        legalHolds.set(key, status);
        return send(200, '');
      }
      if (!options.forwardTo)
        return fail({ status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.' });
      const target = new URL(options.forwardTo);
      const forward = httpRequest(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (upstream) => {
          const headers = { ...upstream.headers };
          const hold = legalHolds.get(key);
          if (
            hold &&
            (req.method === 'HEAD' || req.method === 'GET') &&
            [...url.searchParams.keys()].every((k) => k === 'x-id')
          ) {
            headers['x-amz-object-lock-legal-hold'] = hold;
          }
          res.writeHead(upstream.statusCode ?? 502, headers);
          upstream.pipe(res);
        },
      );
      forward.on('error', (error) => {
        res.writeHead(502);
        res.end(String(error));
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    legalHolds,
    get lifecycle() {
      return state.lifecycle;
    },
    get objectLock() {
      return state.objectLock;
    },
    set objectLock(answer: LockAnswer) {
      state.objectLock = answer;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
