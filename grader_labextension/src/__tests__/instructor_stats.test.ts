/**
 * Statistics aggregations (src/instructor/stats.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  cellStats,
  gradingProgress,
  histogram,
  submissionsPerDay,
  summary,
  utcDay
} from '../instructor/stats.js';
import { IGradebook, IStaffSubmission } from '../instructor/types.js';

describe('histogram', () => {
  it('bins scores over 0..max, max and extra credit in the last bin', () => {
    const bins = histogram([0, 1, 2.5, 5, 9.99, 10, 12], 10, 4);
    assert.deepEqual(
      bins.map(b => [b.from, b.to, b.count]),
      [
        [0, 2.5, 2],
        [2.5, 5, 1],
        [5, 7.5, 1],
        [7.5, 10, 3]
      ]
    );
  });

  it('copes with an assignment without points', () => {
    const bins = histogram([0, 0], 0, 2);
    assert.equal(bins.reduce((n, b) => n + b.count, 0), 2);
  });
});

describe('summary', () => {
  it('gives mean and median', () => {
    assert.deepEqual(summary([4, 1, 3, 2]), { count: 4, mean: 2.5, median: 2.5, min: 1, max: 4 });
    assert.equal(summary([]).mean, null);
  });
});

describe('submissionsPerDay', () => {
  it('counts per day and fills the days between', () => {
    const days = submissionsPerDay(
      [
        { submitted_at: '2030-01-01T10:00:00Z' },
        { submitted_at: '2030-01-01T23:00:00Z' },
        { submitted_at: '2030-01-04T01:00:00Z' }
      ],
      utcDay
    );
    assert.deepEqual(days, [
      { day: '2030-01-01', count: 2 },
      { day: '2030-01-02', count: 0 },
      { day: '2030-01-03', count: 0 },
      { day: '2030-01-04', count: 1 }
    ]);
    assert.deepEqual(submissionsPerDay([]), []);
  });
});

describe('gradingProgress', () => {
  it('counts each status', () => {
    const s = (auto: string, manual: string, feedback: string) =>
      ({ auto_status: auto, manual_status: manual, feedback_status: feedback }) as IStaffSubmission;
    const p = gradingProgress([
      s('automatically_graded', 'manually_graded', 'generated'),
      s('automatically_graded', 'not_graded', 'not_generated'),
      s('grading_failed', 'not_graded', 'not_generated')
    ]);
    assert.equal(p.total, 3);
    assert.equal(p.auto.find(x => x.status === 'automatically_graded')?.count, 2);
    assert.equal(p.auto.find(x => x.status === 'grading_failed')?.count, 1);
    assert.equal(p.manual.find(x => x.status === 'not_graded')?.count, 2);
    assert.equal(p.feedback.find(x => x.status === 'generated')?.count, 1);
  });
});

describe('cellStats', () => {
  const gb = (t1: number, failed: boolean, t2: number | null): IGradebook => ({
    notebooks: {
      hw: {
        name: 'hw',
        grade_cells_dict: { t1: { name: 't1', max_score: 2 }, t2: { name: 't2', max_score: 1 } },
        grades_dict: {
          t1: { auto_score: t1, manual_score: null, failed_tests: failed },
          t2: { auto_score: t2, manual_score: t2 === null ? 1 : null }
        }
      }
    }
  });

  it('rates failures per cell, worst first', () => {
    const stats = cellStats([gb(2, false, 1), gb(0, true, 1), gb(1, false, null)]);
    assert.equal(stats[0].cell, 't1');
    assert.equal(stats[0].graded, 3);
    assert.equal(stats[0].failed, 2); // a flagged failure and a partial score
    assert.ok(Math.abs(stats[0].failureRate - 2 / 3) < 1e-9);
    assert.equal(stats[0].meanScore, 1);
    assert.equal(stats[1].cell, 't2');
    assert.equal(stats[1].failed, 0); // manually graded only: no automatic failure
    assert.equal(stats[1].meanScore, 1);
  });

  it('ignores empty gradebooks', () => {
    assert.deepEqual(cellStats([{ notebooks: {} }]), []);
  });
});
