/** A multipart/x-mixed-replace body parsed the way MJPEG clients do: boundary line, headers, Content-Length bytes. */
export interface Part {
  headers: Record<string, string>;
  body: Buffer;
}

export function boundaryOf(contentType: string | undefined): string {
  const match = /boundary=("?)([^";]+)\1/i.exec(contentType ?? '');
  if (!match?.[2]) throw new Error(`no boundary in ${JSON.stringify(contentType)}`);
  return match[2];
}

/** The whole parts in `body` (a trailing incomplete one is left out). */
export function parseMultipart(body: Buffer, boundary: string): Part[] {
  const parts: Part[] = [];
  const delimiter = Buffer.from(`--${boundary}\r\n`, 'latin1');
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const headersStart = at + delimiter.length;
    const headersEnd = body.indexOf('\r\n\r\n', headersStart, 'latin1');
    if (headersEnd < 0) break;
    const headers: Record<string, string> = {};
    for (const line of body.subarray(headersStart, headersEnd).toString('latin1').split('\r\n')) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length']);
    if (!Number.isInteger(length))
      throw new Error(`part without a Content-Length: ${JSON.stringify(headers)}`);
    const bodyStart = headersEnd + 4;
    if (bodyStart + length + 2 > body.length) break;
    parts.push({ headers, body: body.subarray(bodyStart, bodyStart + length) });
    if (body.toString('latin1', bodyStart + length, bodyStart + length + 2) !== '\r\n')
      throw new Error('a part does not end with CRLF after its Content-Length bytes');
    at = body.indexOf(delimiter, bodyStart + length);
  }
  return parts;
}
