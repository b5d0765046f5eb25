import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { captureIo } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/mqtt.js';

async function start(args: string[], env: NodeJS.ProcessEnv = {}) {
  const io = captureIo({ cwd: REPO_ROOT, env });
  const code = await runCli(['start', '--video', 'none', ...args], io);
  return { code, stderr: io.err() };
}

describe('doorbell start: ONVIF flags', () => {
  it('--onvif-* without --onvif is a usage error naming the flag', async () => {
    const refused = await start(['--onvif-port', '8000']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--onvif-port needs --onvif');
  });

  it('refuses ONVIF reachable from other machines without credentials, from flags or the environment', async () => {
    const refused = await start(['--onvif', '--onvif-host', '0.0.0.0']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--onvif-credentials USER:PASS');
    const fromEnv = await start([], { DOORBELL_ONVIF: '1', DOORBELL_ONVIF_HOST: '192.168.1.5' });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toContain('--onvif-host "192.168.1.5"');
  });

  it('refuses malformed credentials and ports, naming the flag and value', async () => {
    const malformed = await start(['--onvif', '--onvif-credentials', 'admin']);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('--onvif-credentials must be USER:PASS');
    const port = await start(['--onvif', '--onvif-discovery-port', '70000']);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('--onvif-discovery-port "70000" is not a port number');
  });

  it('refuses handing out loopback RTSP URIs to the network', async () => {
    const refused = await start([
      ...['--onvif', '--onvif-host', '0.0.0.0', '--onvif-credentials', 'nvr:secret'],
      ...['--rtsp-port', '0'],
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('give --rtsp-host too');
  });
});
