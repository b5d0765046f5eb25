/** Host and address spellings shared by every server that binds or hands out URLs. */

/** A bind address meaning every interface. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** An IPv4 address as Node reports it on a dual-stack socket (`::ffff:192.0.2.1`) → `192.0.2.1`. */
export function bareAddress(address: string): string {
  return address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
}
