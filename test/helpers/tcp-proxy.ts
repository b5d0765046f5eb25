import { TcpProxy as SharedTcpProxy } from '../../src/replay/tcp-proxy.js';

/** The replay's unpluggable loopback proxy, aimed at one broker port: a network outage between client and broker. */
export class TcpProxy extends SharedTcpProxy {
  constructor(targetPort: number) {
    super({ upstreamPort: targetPort });
  }

  plug(): void {
    this.replug();
  }
}
