import type { EvaluationReport, FrameScores, Span, TimingError } from './score.js';

/** What the report was made of, for its first lines. */
export interface ReportContext {
  referenceFile: string;
  about: string;
  sensitivity: string;
}

/** The evaluation as a short readable table: intervals ([start, end) frames) with their errors, then per-frame scores. */
export function reportTable(report: EvaluationReport, context: ReportContext): string {
  const lines = [
    `reference: ${context.referenceFile} (${context.about})`,
    `scored: frames [${report.firstScoredFrame}, ${report.scoredEndFrame}) of ${report.framesAnalysed} ` +
      `${report.fps === null ? '(fps unknown)' : `at ${report.fps} fps`}; ${context.sensitivity} sensitivity; ` +
      `event gap ${report.eventGapMs} ms`,
    ...report.notes.map((note) => `note: ${note}`),
    '',
  ];
  const rows = report.intervals.map((interval) => {
    const event = interval.event === null ? undefined : report.events[interval.event]!;
    return [
      frames(interval.reference),
      event ? `#${interval.event! + 1} ${frames(event)}` : 'missed',
      interval.startUnknown ? 'unknown (began unscored)' : error(interval.startError),
      error(interval.endError),
    ];
  });
  lines.push(...table(['reference frames', 'detected event', 'start error', 'end error'], rows));
  const falseEvents = report.falseEvents.map((i) => `#${i + 1} ${frames(report.events[i]!)}`);
  lines.push(
    `missed ${report.missed} of ${report.intervals.length} intervals; ` +
      `false events ${report.falseEvents.length} of ${report.events.length}` +
      (falseEvents.length > 0 ? `: ${falseEvents.join(', ')}` : ''),
    '',
  );
  lines.push(
    ...table(
      ['per frame', 'precision', 'recall', 'F1', 'TP', 'FP', 'FN', 'TN'],
      [
        ['inside a detected event', ...scores(report.perFrame.event)],
        ['raw detector motion flag', ...scores(report.perFrame.raw)],
      ],
    ),
  );
  return lines.join('\n');
}

function frames(span: Pick<Span, 'startFrame' | 'endFrame'>): string {
  return `[${span.startFrame}, ${span.endFrame})`;
}

function error(value: TimingError | null): string {
  if (!value) return '-';
  const sign = (n: number) => (n > 0 ? `+${n}` : String(n));
  return `${sign(value.frames)} fr (${sign(value.ms)} ms)`;
}

function scores(s: FrameScores): string[] {
  const show = (n: number | null) => (n === null ? '-' : n.toFixed(3));
  return [
    show(s.precision),
    show(s.recall),
    show(s.f1),
    String(s.truePositives),
    String(s.falsePositives),
    String(s.falseNegatives),
    String(s.trueNegatives),
  ];
}

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)];
}
