/**
 * Unit tests of manual grading's gradebook editing: the totals shown must be what the
 * service computes (manual score if set, else auto score, plus extra credit), and an
 * edit must change exactly one cell and keep everything else of the gradebook.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  applyCellEdit,
  gradebookTotals,
  gradedCells,
  IGradebook,
  notebookId,
  parseScore
} from '../notebook/gradebook.js';

/** A gradebook as autograde writes it: one test (2 of 3), one manual answer, one task. */
function gradebook(): IGradebook {
  return {
    _type: 'GradeBookModel',
    schema_version: '1',
    extra_files: ['data.csv'],
    notebooks: {
      'week1/a': {
        id: 'week1/a',
        name: 'week1/a',
        kernelspec: '{}',
        grade_cells_dict: {
          test1: { id: 'test1', name: 'test1', max_score: 3, cell_type: 'code' },
          essay: { id: 'essay', name: 'essay', max_score: 5, cell_type: 'markdown' }
        },
        task_cells_dict: { plot: { id: 'plot', name: 'plot', max_score: 2, cell_type: 'markdown' } },
        solution_cells_dict: { essay: { id: 'essay' }, code1: { id: 'code1' } },
        source_cells_dict: { test1: { source: 'assert f() == 1  # hidden' } },
        grades_dict: {
          test1: { id: 'test1', auto_score: 2, manual_score: null, extra_credit: null, max_score_gradecell: 3 },
          essay: { id: 'essay', auto_score: null, manual_score: null, extra_credit: null, needs_manual_grade: true }
        },
        comments_dict: { test1: { id: 'test1', auto_comment: 'AssertionError', manual_comment: null } }
      }
    }
  };
}

describe('gradedCells', () => {
  it('lists tests, graded answers and tasks with their scores', () => {
    const cells = gradedCells(gradebook().notebooks['week1/a']);
    assert.deepEqual(
      cells.map(c => [c.gradeId, c.kind, c.maxScore, c.autoScore, c.score, c.needsGrading]),
      [
        ['test1', 'test', 3, 2, 2, false],
        ['essay', 'answer', 5, null, 0, true],
        ['plot', 'task', 2, null, 0, true]
      ]
    );
    assert.equal(cells[0].autoComment, 'AssertionError');
  });
});

describe('applyCellEdit', () => {
  it('sets a manual score that overrides the auto score, and totals follow', () => {
    const before = gradebook();
    assert.deepEqual(gradebookTotals(before), { score: 2, maxScore: 10 });
    const after = applyCellEdit(before, 'week1/a', 'test1', { manualScore: 3, extraCredit: 0.5 });
    assert.deepEqual(gradebookTotals(after), { score: 3.5, maxScore: 10 });
    assert.equal(after.notebooks['week1/a'].grades_dict?.test1.auto_score, 2);
    // the input is not changed, and the rest of the gradebook is kept for the PUT
    assert.equal(before.notebooks['week1/a'].grades_dict?.test1.manual_score, null);
    assert.deepEqual(after.extra_files, ['data.csv']);
    assert.equal(after.schema_version, '1');
    assert.deepEqual(after.notebooks['week1/a'].source_cells_dict, before.notebooks['week1/a'].source_cells_dict);
  });

  it('clearing the manual score falls back to the auto score', () => {
    const graded = applyCellEdit(gradebook(), 'week1/a', 'test1', { manualScore: 0 });
    assert.equal(gradebookTotals(graded).score, 0);
    const cleared = applyCellEdit(graded, 'week1/a', 'test1', { manualScore: null });
    assert.equal(gradebookTotals(cleared).score, 2);
  });

  it('creates the grade of a task that autograde did not record', () => {
    const after = applyCellEdit(gradebook(), 'week1/a', 'plot', { manualScore: 1.5 });
    const grade = after.notebooks['week1/a'].grades_dict?.plot;
    assert.equal(grade?.manual_score, 1.5);
    assert.equal(grade?.max_score_taskcell, 2);
    assert.equal(grade?.cell_id, 'plot');
    assert.deepEqual(gradebookTotals(after), { score: 3.5, maxScore: 10 });
  });

  it('writes and clears a manual comment, keeping the automatic one', () => {
    const after = applyCellEdit(gradebook(), 'week1/a', 'essay', { comment: 'Good argument.' });
    assert.equal(after.notebooks['week1/a'].comments_dict?.essay.manual_comment, 'Good argument.');
    const withTest = applyCellEdit(after, 'week1/a', 'test1', { comment: 'See hint' });
    assert.equal(withTest.notebooks['week1/a'].comments_dict?.test1.auto_comment, 'AssertionError');
    const cleared = applyCellEdit(withTest, 'week1/a', 'test1', { comment: '   ' });
    assert.equal(cleared.notebooks['week1/a'].comments_dict?.test1.manual_comment, null);
    // a comment alone does not touch the grades
    assert.deepEqual(cleared.notebooks['week1/a'].grades_dict, gradebook().notebooks['week1/a'].grades_dict);
  });

  it('refuses cells and notebooks that are not in the gradebook', () => {
    assert.throws(() => applyCellEdit(gradebook(), 'week1/a', 'code1', { manualScore: 1 }), /not a graded cell/);
    assert.throws(() => applyCellEdit(gradebook(), 'nope', 'test1', { manualScore: 1 }), /no notebook "nope"/);
  });
});

describe('parseScore', () => {
  it('accepts numbers in range and empty input, explains the rest', () => {
    assert.deepEqual(parseScore('2.5', 0, 3, 'Points'), { value: 2.5 });
    assert.deepEqual(parseScore('2,5', 0, 3, 'Points'), { value: 2.5 });
    assert.deepEqual(parseScore('  ', 0, 3, 'Points'), { value: null });
    assert.deepEqual(parseScore('4', 0, 3, 'Points'), { error: 'Points must be between 0 and 3.' });
    assert.deepEqual(parseScore('-1', 0, Infinity, 'Extra credit'), {
      error: 'Extra credit must be 0 or more.'
    });
    assert.deepEqual(parseScore('abc', 0, 3, 'Points'), { error: 'Points: "abc" is not a number.' });
  });

  it('maps notebook paths to gradebook ids', () => {
    assert.equal(notebookId('week1/a.ipynb'), 'week1/a');
  });
});
