/**
 * Aggregations behind the statistics tab: score distribution, submissions over time,
 * grading progress and per-cell failure rates from gradebooks. Pure, unit-tested.
 */
import { IGrade, IGradebook, IStaffSubmission } from './types';

export interface IBin {
  from: number;
  to: number;
  count: number;
}

/**
 * Scores in `bins` equal bins over [0, max] (the last bin includes max). Scores above
 * max (extra credit) land in the last bin, below 0 in the first.
 */
export function histogram(scores: number[], max: number, bins = 10): IBin[] {
  const top = max > 0 ? max : Math.max(1, ...scores);
  const n = Math.max(1, Math.floor(bins));
  const width = top / n;
  const result: IBin[] = Array.from({ length: n }, (_, i) => ({
    from: round(i * width),
    to: round((i + 1) * width),
    count: 0
  }));
  for (const score of scores) {
    const index = Math.min(n - 1, Math.max(0, Math.floor(score / width)));
    result[index].count++;
  }
  return result;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

export interface ISummary {
  count: number;
  mean: number | null;
  median: number | null;
  min: number | null;
  max: number | null;
}

export function summary(values: number[]): ISummary {
  if (!values.length) {
    return { count: 0, mean: null, median: null, min: null, max: null };
  }
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return {
    count: sorted.length,
    mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
    median: round(median),
    min: sorted[0],
    max: sorted[sorted.length - 1]
  };
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** The browser's calendar day of a timestamp, "YYYY-MM-DD". */
export function localDay(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The UTC calendar day of a timestamp, "YYYY-MM-DD". */
export function utcDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export interface IDayCount {
  day: string;
  count: number;
}

/**
 * Submissions per calendar day from the first to the last day with a submission, days
 * without submissions included (so the time axis is even).
 */
export function submissionsPerDay(
  submissions: { submitted_at: string }[],
  dayOf: (d: Date) => string = localDay
): IDayCount[] {
  const counts = new Map<string, number>();
  for (const s of submissions) {
    const t = new Date(s.submitted_at);
    if (!isNaN(t.getTime())) {
      const day = dayOf(t);
      counts.set(day, (counts.get(day) ?? 0) + 1);
    }
  }
  if (!counts.size) {
    return [];
  }
  const days = [...counts.keys()].sort();
  const result: IDayCount[] = [];
  // walk noon to noon in UTC: immune to daylight-saving hours for day keys
  let cursor = new Date(`${days[0]}T12:00:00Z`);
  const last = days[days.length - 1];
  for (let guard = 0; guard < 3660; guard++) {
    const day = cursor.toISOString().slice(0, 10);
    result.push({ day, count: counts.get(day) ?? 0 });
    if (day >= last) {
      break;
    }
    cursor = new Date(cursor.getTime() + 86400000);
  }
  return result;
}

export interface IStatusCount {
  status: string;
  count: number;
}

export interface IProgress {
  auto: IStatusCount[];
  manual: IStatusCount[];
  feedback: IStatusCount[];
  total: number;
}

const AUTO = ['automatically_graded', 'pending', 'not_graded', 'grading_failed'];
const MANUAL = ['manually_graded', 'being_edited', 'not_graded'];
const FEEDBACK = [
  'generated',
  'generating',
  'feedback_outdated',
  'not_generated',
  'generation_failed'
];

/** How many submissions are in each auto, manual and feedback status (fixed order). */
export function gradingProgress(submissions: IStaffSubmission[]): IProgress {
  const count = (statuses: string[], pick: (s: IStaffSubmission) => string): IStatusCount[] =>
    statuses.map(status => ({
      status,
      count: submissions.filter(s => pick(s) === status).length
    }));
  return {
    auto: count(AUTO, s => s.auto_status),
    manual: count(MANUAL, s => s.manual_status),
    feedback: count(FEEDBACK, s => s.feedback_status),
    total: submissions.length
  };
}

export interface ICellStat {
  notebook: string;
  cell: string;
  maxScore: number;
  /** Gradebooks in which the cell has a grade. */
  graded: number;
  /** Grades with failed tests or fewer automatic points than the maximum. */
  failed: number;
  failureRate: number;
  meanScore: number;
}

function gradeScore(g: IGrade): number {
  const base = g.manual_score ?? g.auto_score;
  return (base ?? 0) + (g.extra_credit ?? 0);
}

/**
 * Per graded cell across submissions' gradebooks: how often it failed, and its mean
 * score. A cell "fails" when the autograder flagged failed tests, or its automatic score
 * is below the cell's maximum. Sorted by failure rate, worst first.
 */
export function cellStats(gradebooks: IGradebook[]): ICellStat[] {
  const stats = new Map<string, ICellStat & { total: number }>();
  for (const gb of gradebooks) {
    for (const [nbName, nb] of Object.entries(gb.notebooks ?? {})) {
      const cells = { ...(nb.grade_cells_dict ?? {}), ...(nb.task_cells_dict ?? {}) };
      for (const [cellName, grade] of Object.entries(nb.grades_dict ?? {})) {
        const max = Number(
          cells[cellName]?.max_score ?? grade.max_score_taskcell ?? grade.max_score_gradecell ?? 0
        );
        const key = `${nbName}\u0000${cellName}`;
        const stat = stats.get(key) ?? {
          notebook: nbName,
          cell: cellName,
          maxScore: max,
          graded: 0,
          failed: 0,
          failureRate: 0,
          meanScore: 0,
          total: 0
        };
        stat.graded++;
        const autoShort = grade.auto_score !== null && grade.auto_score < max;
        if (grade.failed_tests || autoShort) {
          stat.failed++;
        }
        stat.total += gradeScore(grade);
        stats.set(key, stat);
      }
    }
  }
  return [...stats.values()]
    .map(({ total, ...s }) => ({
      ...s,
      failureRate: s.graded ? s.failed / s.graded : 0,
      meanScore: s.graded ? round(total / s.graded) : 0
    }))
    .sort(
      (a, b) =>
        b.failureRate - a.failureRate ||
        a.notebook.localeCompare(b.notebook) ||
        a.cell.localeCompare(b.cell)
    );
}

/** "12.5" / "3" : a number as a short label. */
export function fmt(x: number | null | undefined, digits = 2): string {
  if (x === null || x === undefined || !Number.isFinite(x)) {
    return '–';
  }
  return String(Math.round(x * 10 ** digits) / 10 ** digits);
}
