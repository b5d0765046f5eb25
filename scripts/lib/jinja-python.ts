import { spawnSync } from 'node:child_process';

/**
 * A Python that has Jinja2: the one on PATH (a pyenv or venv python may have it), else Debian's, which is where
 * apt's python3-jinja2 goes when PATH points at another python.
 */
export function pythonWithJinja(): string | undefined {
  return ['python3', '/usr/bin/python3'].find(
    (python) => spawnSync(python, ['-c', 'import jinja2'], { stdio: 'ignore' }).status === 0,
  );
}
