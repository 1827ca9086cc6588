/**
 * Deadlines and late periods as a student sees them. Pure functions, unit-tested.
 */
import { IAssignmentSettings } from './types';

const UNITS_MS: Record<string, number> = {
  Y: 365 * 86400000,
  M: 30 * 86400000, // months in the date part; minutes are in the time part
  W: 7 * 86400000,
  D: 86400000
};
const TIME_UNITS_MS: Record<string, number> = { H: 3600000, M: 60000, S: 1000 };

/** Milliseconds of an ISO-8601 duration ("P1D", "PT12H", "P1DT2H30M"); NaN if invalid. */
export function parseDuration(iso: string): number {
  const match = /^P(?:(\d+(?:\.\d+)?[YMWD])*)(?:T((?:\d+(?:\.\d+)?[HMS])+))?$/.exec(iso);
  if (!match || iso === 'P' || iso.endsWith('T')) {
    return NaN;
  }
  const [datePart, timePart] = iso.slice(1).split('T');
  let total = 0;
  for (const [, value, unit] of datePart.matchAll(/(\d+(?:\.\d+)?)([YMWD])/g)) {
    total += parseFloat(value) * UNITS_MS[unit];
  }
  for (const [, value, unit] of (timePart ?? '').matchAll(/(\d+(?:\.\d+)?)([HMS])/g)) {
    total += parseFloat(value) * TIME_UNITS_MS[unit];
  }
  return total;
}

/** "2 days 3 h", "3 h 5 min", "4 min 10 s": the two largest units of a span. */
export function formatSpan(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const secs = seconds % 60;
  if (days > 0) {
    return `${days} ${days === 1 ? 'day' : 'days'} ${hours} h`;
  }
  if (hours > 0) {
    return `${hours} h ${minutes} min`;
  }
  if (minutes > 0) {
    return `${minutes} min ${secs} s`;
  }
  return `${secs} s`;
}

export type DeadlinePhase = 'none' | 'open' | 'late' | 'closed';

export interface IDeadlineState {
  phase: DeadlinePhase;
  /** When the current phase ends (deadline, or end of the late period); null if never. */
  endsAt: Date | null;
  /** Score factor of a submission now (1 before the deadline, 0 when closed). */
  scaling: number;
  /** One line for the student, e.g. "Due in 2 days 3 h" or "Late: 50% until ...". */
  label: string;
}

/** The student's deadline: their extension's if they have one. */
export function effectiveDeadline(
  settings: IAssignmentSettings,
  username: string | null
): Date | null {
  const extension = settings.extensions?.find(e => e.username === username);
  const iso = extension?.deadline ?? settings.deadline;
  return iso ? new Date(iso) : null;
}

/** Where `now` stands relative to the deadline and the late periods. */
export function deadlineState(
  settings: IAssignmentSettings,
  now: Date,
  username: string | null = null
): IDeadlineState {
  const deadline = effectiveDeadline(settings, username);
  if (!deadline || isNaN(deadline.getTime())) {
    return { phase: 'none', endsAt: null, scaling: 1, label: 'No deadline' };
  }
  const left = deadline.getTime() - now.getTime();
  if (left > 0) {
    return { phase: 'open', endsAt: deadline, scaling: 1, label: `Due in ${formatSpan(left)}` };
  }
  // late periods are ordered by duration (the service validates it): the first that
  // has not ended is the one that applies
  for (const period of settings.late_submission ?? []) {
    const end = new Date(deadline.getTime() + parseDuration(period.period));
    if (end.getTime() > now.getTime()) {
      const percent = Math.round(period.scaling * 100);
      return {
        phase: 'late',
        endsAt: end,
        scaling: period.scaling,
        label: `Late: scored at ${percent}% for ${formatSpan(end.getTime() - now.getTime())}`
      };
    }
  }
  return { phase: 'closed', endsAt: null, scaling: 0, label: 'Deadline over' };
}

/** One row of the late-submission rules: submissions until `until` score `scaling`. */
export interface ILateRule {
  /** "On time", "Up to 1 day late", ... or "Later". */
  period: string;
  /** Start of the row's window (null: open-ended before the deadline). */
  from: Date | null;
  /** End of the row's window (null: no end, for the final "Later" row). */
  until: Date | null;
  /** Score factor; 0 for the final row (not accepted). */
  scaling: number;
  /** Whether `now` falls into this row. */
  current: boolean;
}

/** "1 day", "2 weeks", "12 h", "1 day 6 h": a late period's length as people say it. */
export function formatPeriod(ms: number): string {
  const week = 7 * 86400000;
  if (ms > 0 && ms % week === 0) {
    const weeks = ms / week;
    return `${weeks} ${weeks === 1 ? 'week' : 'weeks'}`;
  }
  if (ms > 0 && ms % 86400000 === 0) {
    const days = ms / 86400000;
    return `${days} ${days === 1 ? 'day' : 'days'}`;
  }
  return formatSpan(ms).replace(/ 0 (h|min|s)$/, '');
}

/**
 * The late-submission rules as a table with absolute dates: on time until the deadline
 * (100%), then one row per late period (its end = deadline + period), then "Later"
 * (not accepted). Empty without a deadline or without late periods: then the deadline
 * line says it all. Uses the student's extension deadline like the service does.
 */
export function lateRules(
  settings: IAssignmentSettings,
  now: Date,
  username: string | null = null
): ILateRule[] {
  const deadline = effectiveDeadline(settings, username);
  const periods = settings.late_submission ?? [];
  if (!deadline || isNaN(deadline.getTime()) || periods.length === 0) {
    return [];
  }
  const t = now.getTime();
  const rows: ILateRule[] = [
    {
      period: 'On time',
      from: null,
      until: deadline,
      scaling: 1,
      current: t < deadline.getTime()
    }
  ];
  let start = deadline;
  for (const late of periods) {
    const length = parseDuration(late.period);
    if (isNaN(length)) {
      continue; // the service validates periods: only a newer format could land here
    }
    const end = new Date(deadline.getTime() + length);
    rows.push({
      period: `Up to ${formatPeriod(length)} late`,
      from: start,
      until: end,
      scaling: late.scaling,
      current: t >= start.getTime() && t < end.getTime()
    });
    start = end;
  }
  rows.push({
    period: 'Later',
    from: start,
    until: null,
    scaling: 0,
    current: t >= start.getTime()
  });
  return rows;
}
