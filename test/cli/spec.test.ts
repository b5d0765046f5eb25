import { describe, expect, it } from 'vitest';
import { COMMANDS, loadCommand } from '../../src/cli/run.js';
import { defineCommand, parseOptions } from '../../src/cli/spec.js';
import { captureIo, runInProcess } from '../helpers/cli.js';

describe('one declarative spec per command', () => {
  it('--help lists every option, with its environment variable', async () => {
    for (const name of Object.keys(COMMANDS)) {
      const command = (await loadCommand(name))!;
      expect(command.options, name).toBeDefined();
      for (const [option, spec] of Object.entries(command.options ?? {})) {
        const line = command.usage.split('\n').findIndex((l) => new RegExp(`^ {2}--${option}\\b`).test(l));
        expect(line, `${name} --${option}`).toBeGreaterThanOrEqual(0);
        if (spec.env) {
          const text = command.usage
            .split('\n')
            .slice(line, line + 2)
            .join('\n');
          expect(text, `${name} --${option}`).toContain(`[env ${spec.env}]`);
        }
      }
    }
  });

  it('falls back to the environment; a flag wins over it', () => {
    const spec = {
      synopsis: '',
      options: {
        port: { type: 'string', help: 'p', env: 'DOORBELL_PORT' },
        quiet: { type: 'boolean', help: 'q' },
      },
      run: async () => 0,
    } as const;
    const io = captureIo({ env: { DOORBELL_PORT: '1999' } });
    expect(parseOptions(spec, [], io).values).toEqual({ port: '1999' });
    expect(parseOptions(spec, ['--port', '7', '--quiet'], io).values).toEqual({ port: '7', quiet: true });
  });

  it('a command built from a spec refuses an unknown flag with exit 2', async () => {
    const command = defineCommand('demo', {
      summary: 'demo',
      synopsis: '',
      options: {},
      run: async () => 0,
    });
    expect(command.usage).toBe('doorbell demo');
    const { code, stderr } = await runInProcess(['profiles', '--nope']);
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a domain error the user can fix leaves with its own exit code and one line', async () => {
    const hold = await runInProcess(['hold', 'set', 'clip1', '--bucket', 'ftp://nowhere']);
    expect(hold.code).toBe(2);
    expect(hold.stderr).toMatch(/^doorbell hold: .*\n$/);
    const action = await runInProcess(['keys', 'rotate']);
    expect(action.code).toBe(2);
    expect(action.stderr).toBe('doorbell keys: unknown action "rotate" (use generate or id)\n');
  });
});
