export interface JunitCase {
  name: string;
  /** Seconds. */
  time?: number;
  failure?: string;
}

export interface JunitSuite {
  name: string;
  time: number;
  cases: JunitCase[];
}

/** JUnit XML (the subset every CI system reads): one testsuite per scenario, one testcase per check. */
export function junitXml(suites: readonly JunitSuite[]): string {
  const tests = suites.reduce((n, s) => n + s.cases.length, 0);
  const failures = suites.reduce((n, s) => n + s.cases.filter((c) => c.failure !== undefined).length, 0);
  const time = suites.reduce((n, s) => n + s.time, 0);
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="doorbell replay" tests="${tests}" failures="${failures}" errors="0" time="${seconds(time)}">`,
  ];
  for (const suite of suites) {
    const suiteFailures = suite.cases.filter((c) => c.failure !== undefined).length;
    out.push(
      `  <testsuite name="${xmlEscape(suite.name)}" tests="${suite.cases.length}" failures="${suiteFailures}" errors="0" skipped="0" time="${seconds(suite.time)}">`,
    );
    for (const test of suite.cases) {
      const attrs = `classname="replay.${xmlEscape(suite.name)}" name="${xmlEscape(test.name)}" time="${seconds(test.time ?? 0)}"`;
      if (test.failure === undefined) {
        out.push(`    <testcase ${attrs}/>`);
      } else {
        const firstLine = test.failure.split('\n')[0] ?? '';
        out.push(`    <testcase ${attrs}>`);
        out.push(`      <failure message="${xmlEscape(firstLine)}">${xmlEscape(test.failure)}</failure>`);
        out.push('    </testcase>');
      }
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}

function seconds(value: number): string {
  return value.toFixed(3);
}

function xmlEscape(text: string): string {
  return (
    text
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      // XML 1.0 cannot carry most control characters at all.
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
  );
}
