/**
 * The submissions table's filtering, sorting, paging and live updates
 * (src/instructor/table.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { actionable, applyEvent, DEFAULT_QUERY, tableView, toggleSort } from '../instructor/table.js';
import { IStaffSubmission } from '../instructor/types.js';

function sub(id: number, over: Partial<IStaffSubmission> = {}): IStaffSubmission {
  return {
    id,
    assignment_id: 1,
    user_id: id,
    username: `user${id}`,
    user_display_name: `User ${id}`,
    submitted_at: `2030-01-0${id}T10:00:00Z`,
    commit_hash: 'a'.repeat(40),
    auto_status: 'automatically_graded',
    manual_status: 'not_graded',
    feedback_status: 'not_generated',
    grading_score: id,
    score_scaling: 1,
    score: id,
    edited: false,
    deleted: false,
    ...over
  };
}

const rows = [
  sub(1, { user_display_name: 'Zoe', score: 5 }),
  sub(2, { user_display_name: 'anna', auto_status: 'grading_failed', score: null }),
  sub(3, { user_display_name: 'Bert', score: 9, feedback_status: 'generated' }),
  sub(4, { user_display_name: 'Carl', score: 9, auto_status: 'pending' })
];

describe('tableView', () => {
  it('sorts newest first by default', () => {
    assert.deepEqual(
      tableView(rows, DEFAULT_QUERY).rows.map(r => r.id),
      [4, 3, 2, 1]
    );
  });

  it('sorts by student, case-insensitively', () => {
    const q = toggleSort(DEFAULT_QUERY, 'student');
    assert.equal(q.direction, 'ascending');
    assert.deepEqual(tableView(rows, q).rows.map(r => r.user_display_name), ['anna', 'Bert', 'Carl', 'Zoe']);
    const back = toggleSort(q, 'student');
    assert.equal(back.direction, 'descending');
    assert.equal(tableView(rows, back).rows[0].user_display_name, 'Zoe');
  });

  it('sorts scores highest first, ungraded last, ties by id', () => {
    const q = toggleSort(DEFAULT_QUERY, 'score');
    assert.deepEqual(tableView(rows, q).rows.map(r => r.id), [3, 4, 1, 2]);
  });

  it('puts failed autogrades first when sorting by status', () => {
    const q = toggleSort(DEFAULT_QUERY, 'auto');
    assert.equal(tableView(rows, q).rows[0].id, 2);
  });

  it('filters by status and searches names and usernames', () => {
    assert.deepEqual(tableView(rows, { ...DEFAULT_QUERY, auto: 'grading_failed' }).rows.map(r => r.id), [2]);
    assert.deepEqual(tableView(rows, { ...DEFAULT_QUERY, feedback: 'generated' }).rows.map(r => r.id), [3]);
    assert.deepEqual(tableView(rows, { ...DEFAULT_QUERY, search: 'BER' }).rows.map(r => r.id), [3]);
    assert.deepEqual(tableView(rows, { ...DEFAULT_QUERY, search: 'user4' }).rows.map(r => r.id), [4]);
    assert.equal(tableView(rows, { ...DEFAULT_QUERY, search: 'nobody' }).matching, 0);
  });

  it('pages, clamping a page beyond the end', () => {
    const many = Array.from({ length: 7 }, (_, i) => sub(i + 1));
    const q = { ...DEFAULT_QUERY, pageSize: 3, sort: 'student' as const, direction: 'ascending' as const };
    const first = tableView(many, q);
    assert.equal(first.pages, 3);
    assert.equal(first.matching, 7);
    assert.deepEqual(first.rows.map(r => r.id), [1, 2, 3]);
    const last = tableView(many, { ...q, page: 9 });
    assert.equal(last.page, 2);
    assert.deepEqual(last.rows.map(r => r.id), [7]);
  });
});

describe('applyEvent', () => {
  it('changes the named submission only', () => {
    const next = applyEvent(rows, { submission_id: 4, auto_status: 'automatically_graded', queue_position: null });
    assert.equal(next[3].auto_status, 'automatically_graded');
    assert.equal(next[0], rows[0]);
    assert.equal(applyEvent(rows, { submission_id: 99, auto_status: 'pending' }), rows);
  });
});

describe('actionable', () => {
  it('skips submissions an action cannot apply to', () => {
    const auto = actionable(rows, 'autograde');
    assert.deepEqual(auto.ok.map(r => r.id), [1, 2, 3]);
    assert.equal(auto.skipped, 1);
    const feedback = actionable(rows, 'feedback');
    assert.deepEqual(feedback.ok.map(r => r.id), [1, 3]);
  });
});
