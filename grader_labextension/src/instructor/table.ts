/**
 * The submissions table's model: status filters, student search, sorting and paging,
 * and applying live events. Pure, unit-tested.
 */
import { IStaffSubmission } from './types';

export type SortKey = 'student' | 'date' | 'auto' | 'manual' | 'feedback' | 'score';
export type SortDirection = 'ascending' | 'descending';

export interface ITableQuery {
  search: string;
  auto: string; // '' = any
  manual: string;
  feedback: string;
  sort: SortKey;
  direction: SortDirection;
  page: number; // 0-based
  pageSize: number;
}

export const DEFAULT_QUERY: ITableQuery = {
  search: '',
  auto: '',
  manual: '',
  feedback: '',
  sort: 'date',
  direction: 'descending',
  page: 0,
  pageSize: 25
};

export const AUTO_LABELS: Record<string, string> = {
  not_graded: 'Not graded',
  pending: 'Grading…',
  automatically_graded: 'Graded',
  grading_failed: 'Failed'
};

export const MANUAL_LABELS: Record<string, string> = {
  not_graded: 'Not graded',
  being_edited: 'In progress',
  manually_graded: 'Graded'
};

export const FEEDBACK_LABELS: Record<string, string> = {
  not_generated: 'None',
  generating: 'Generating…',
  generated: 'Generated',
  generation_failed: 'Failed',
  feedback_outdated: 'Outdated'
};

// Status order follows the grading workflow, so sorting groups "to do" before "done".
const AUTO_ORDER = ['grading_failed', 'not_graded', 'pending', 'automatically_graded'];
const MANUAL_ORDER = ['not_graded', 'being_edited', 'manually_graded'];
const FEEDBACK_ORDER = [
  'generation_failed',
  'not_generated',
  'feedback_outdated',
  'generating',
  'generated'
];

function compare(a: IStaffSubmission, b: IStaffSubmission, key: SortKey): number {
  switch (key) {
    case 'student':
      return (
        (a.user_display_name || a.username).localeCompare(b.user_display_name || b.username) ||
        a.username.localeCompare(b.username)
      );
    case 'date':
      return Date.parse(a.submitted_at) - Date.parse(b.submitted_at);
    case 'auto':
      return AUTO_ORDER.indexOf(a.auto_status) - AUTO_ORDER.indexOf(b.auto_status);
    case 'manual':
      return MANUAL_ORDER.indexOf(a.manual_status) - MANUAL_ORDER.indexOf(b.manual_status);
    case 'feedback':
      return FEEDBACK_ORDER.indexOf(a.feedback_status) - FEEDBACK_ORDER.indexOf(b.feedback_status);
    case 'score':
      return (a.score ?? -Infinity) - (b.score ?? -Infinity);
  }
}

export interface ITableView {
  rows: IStaffSubmission[];
  /** Rows after filtering, before paging. */
  matching: number;
  pages: number;
  page: number;
}

/** Filter, sort (stable, ties by id) and cut out one page. */
export function tableView(all: IStaffSubmission[], q: ITableQuery): ITableView {
  const needle = q.search.trim().toLowerCase();
  const filtered = all.filter(
    s =>
      (!needle ||
        s.username.toLowerCase().includes(needle) ||
        (s.user_display_name ?? '').toLowerCase().includes(needle)) &&
      (!q.auto || s.auto_status === q.auto) &&
      (!q.manual || s.manual_status === q.manual) &&
      (!q.feedback || s.feedback_status === q.feedback)
  );
  const sign = q.direction === 'ascending' ? 1 : -1;
  const sorted = [...filtered].sort((a, b) => sign * compare(a, b, q.sort) || a.id - b.id);
  const pages = Math.max(1, Math.ceil(sorted.length / q.pageSize));
  const page = Math.min(Math.max(0, q.page), pages - 1);
  return {
    rows: sorted.slice(page * q.pageSize, (page + 1) * q.pageSize),
    matching: sorted.length,
    pages,
    page
  };
}

/** The next sort after clicking a column header. */
export function toggleSort(q: ITableQuery, key: SortKey): ITableQuery {
  if (q.sort === key) {
    return { ...q, direction: q.direction === 'ascending' ? 'descending' : 'ascending' };
  }
  // dates and scores read best newest/highest first, names and statuses A->Z
  const direction = key === 'date' || key === 'score' ? 'descending' : 'ascending';
  return { ...q, sort: key, direction, page: 0 };
}

export interface IStatusPatch {
  submission_id: number;
  auto_status?: string;
  manual_status?: string;
  feedback_status?: string;
  queue_position?: number | null;
}

/** Apply a live event's statuses to the submission it names (others untouched). */
export function applyEvent(all: IStaffSubmission[], patch: IStatusPatch): IStaffSubmission[] {
  let changed = false;
  const next = all.map(s => {
    if (s.id !== patch.submission_id) {
      return s;
    }
    changed = true;
    return {
      ...s,
      auto_status: (patch.auto_status ?? s.auto_status) as IStaffSubmission['auto_status'],
      manual_status: (patch.manual_status ?? s.manual_status) as IStaffSubmission['manual_status'],
      feedback_status: (patch.feedback_status ??
        s.feedback_status) as IStaffSubmission['feedback_status'],
      queue_position: patch.queue_position ?? null
    };
  });
  return changed ? next : all;
}

/** Which selected submissions an action can apply to, and why the others are skipped. */
export function actionable(
  selected: IStaffSubmission[],
  action: 'autograde' | 'feedback'
): { ok: IStaffSubmission[]; skipped: number } {
  const ok = selected.filter(s =>
    action === 'autograde'
      ? s.auto_status !== 'pending' && !s.deleted
      : s.auto_status === 'automatically_graded' && s.feedback_status !== 'generating' && !s.deleted
  );
  return { ok, skipped: selected.length - ok.length };
}
