/**
 * Unit tests of creation mode's metadata mapping and validator: the metadata written
 * must be what the service's converter accepts, and every problem the release would
 * refuse must be flagged before it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  CellKind,
  gradeIdError,
  kindAllowed,
  kindOf,
  metadataFor,
  newGradeId,
  parsePoints
} from '../notebook/metadata.js';
import { classifyPath } from '../notebook/paths.js';
import { ICellInfo, regionError, totalPoints, validateNotebook } from '../notebook/validator.js';

function cell(kind: CellKind, source: string, over: Record<string, unknown> = {}, type = 'code'): ICellInfo {
  const meta = metadataFor(kind, null, new Set());
  return {
    cellType: type,
    source,
    nbgrader: meta ? { ...meta, ...over } : over && Object.keys(over).length ? over : undefined
  };
}

const codes = (cells: ICellInfo[]): string[] => validateNotebook(cells).map(p => `${p.cell}:${p.code}`);

describe('metadataFor / kindOf', () => {
  it('writes the nbgrader flags of each cell type and reads them back', () => {
    assert.deepEqual(
      { ...metadataFor('autograded-tests', { grade_id: 'test1', points: 2 }, new Set()) },
      {
        schema_version: 3,
        grade: true,
        solution: false,
        locked: true,
        task: false,
        grade_id: 'test1',
        points: 2
      }
    );
    assert.deepEqual(
      { ...metadataFor('autograded-answer', { grade_id: 'a1' }, new Set()) },
      { schema_version: 3, grade: false, solution: true, locked: false, task: false, grade_id: 'a1' }
    );
    const task = metadataFor('manual-task', null, new Set());
    assert.equal(task?.task, true);
    assert.equal(task?.points, 0);
    assert.match(task?.grade_id ?? '', /^cell-[0-9a-f]{8}$/);
    for (const kind of ['readonly', 'autograded-answer', 'autograded-tests', 'manual-answer', 'manual-task'] as CellKind[]) {
      assert.equal(kindOf(metadataFor(kind, null, new Set())), kind);
    }
    assert.equal(metadataFor('none', { grade_id: 'x' }, new Set()), null);
    assert.equal(kindOf(undefined), 'none');
    assert.equal(kindOf({ grade: false, solution: false, locked: false }), 'none');
  });

  it('keeps points and grade id when the kind changes, never reuses a taken id', () => {
    const meta = metadataFor('manual-answer', { grade_id: 'q1', points: 3, checksum: 'abc' }, new Set());
    assert.equal(meta?.grade_id, 'q1');
    assert.equal(meta?.points, 3);
    assert.equal('checksum' in (meta ?? {}), false);
    const readonly = metadataFor('readonly', { grade_id: 'q1', points: 3 }, new Set());
    assert.equal('points' in (readonly ?? {}), false);
    const fresh = metadataFor('readonly', null, new Set(['cell-00000000']));
    assert.notEqual(fresh?.grade_id, 'cell-00000000');
    const sequence = [0, 0, 0.5];
    assert.equal(newGradeId(new Set(['cell-00000000']), () => sequence.shift() ?? 0), 'cell-7fffffff');
  });

  it('knows which kinds a Markdown cell can have', () => {
    assert.equal(kindAllowed('manual-task', 'markdown'), true);
    assert.equal(kindAllowed('manual-task', 'code'), false);
    assert.equal(kindAllowed('autograded-tests', 'markdown'), false);
    assert.equal(kindAllowed('manual-answer', 'markdown'), true);
  });

  it('checks points and grade ids typed by the instructor', () => {
    assert.deepEqual(parsePoints(' 2.5 '), { value: 2.5 });
    assert.ok('error' in parsePoints('-1'));
    assert.ok('error' in parsePoints('ten'));
    assert.ok('error' in parsePoints(''));
    assert.equal(gradeIdError('q1_a-2'), null);
    assert.match(gradeIdError('q 1') ?? '', /letters, digits/);
    assert.match(gradeIdError('') ?? '', /Enter a grade id/);
  });
});

describe('regionError', () => {
  it('accepts any comment prefix and balanced regions', () => {
    const SOL = { name: 's', begin: 'BEGIN SOLUTION', end: 'END SOLUTION' };
    assert.equal(regionError('### BEGIN SOLUTION\nx = 1\n### END SOLUTION', SOL), null);
    assert.equal(regionError('# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n', SOL), null);
    assert.match(regionError('### BEGIN SOLUTION\nx = 1\n', SOL) ?? '', /never closed/);
    assert.match(regionError('x = 1\n### END SOLUTION', SOL) ?? '', /line 2 has no/);
    assert.match(
      regionError('### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION', SOL) ?? '',
      /nested/
    );
  });
});

describe('validateNotebook', () => {
  it('accepts a well-formed assignment', () => {
    const cells = [
      cell('readonly', '# Task 1', { grade_id: 'intro' }, 'markdown'),
      cell('autograded-answer', 'def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION', { grade_id: 'f' }),
      cell('autograded-tests', 'assert f() == 1\n### BEGIN HIDDEN TESTS\nassert f() != 2\n### END HIDDEN TESTS', { grade_id: 'test_f', points: 2 }),
      cell('manual-answer', 'YOUR ANSWER', { grade_id: 'essay', points: 3 }, 'markdown'),
      cell('manual-task', 'Plot it', { grade_id: 'plot', points: 1 }, 'markdown'),
      { cellType: 'code', source: 'import math', nbgrader: undefined }
    ];
    assert.deepEqual(validateNotebook(cells), []);
    assert.equal(totalPoints(cells), 6);
  });

  it('flags a missing END SOLUTION and an answer cell without markers', () => {
    assert.deepEqual(codes([cell('autograded-answer', '### BEGIN SOLUTION\nx = 1', { grade_id: 'a' })]), [
      '0:unbalanced-markers'
    ]);
    assert.deepEqual(codes([cell('autograded-answer', 'x = 1', { grade_id: 'a' })]), ['0:no-solution-region']);
    const [problem] = validateNotebook([cell('autograded-answer', 'x = 1', { grade_id: 'a' })]);
    assert.equal(problem.severity, 'warning');
  });

  it('flags unbalanced HIDDEN TESTS and markers in the wrong cells', () => {
    assert.deepEqual(codes([cell('autograded-tests', 'assert 1\n### END HIDDEN TESTS', { grade_id: 't', points: 1 })]), [
      '0:unbalanced-markers'
    ]);
    assert.deepEqual(
      codes([cell('autograded-answer', '### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS\n### BEGIN SOLUTION\n### END SOLUTION', { grade_id: 'a' })]),
      ['0:misplaced-markers']
    );
    assert.deepEqual(codes([cell('autograded-tests', '### BEGIN SOLUTION\n### END SOLUTION', { grade_id: 't', points: 1 })]), [
      '0:misplaced-markers'
    ]);
    assert.deepEqual(codes([cell('readonly', '### BEGIN SOLUTION\n### END SOLUTION', { grade_id: 'r' })]), [
      '0:misplaced-markers'
    ]);
  });

  it('flags markers in a cell without a type', () => {
    const problems = validateNotebook([{ cellType: 'code', source: '# BEGIN SOLUTION\nx\n# END SOLUTION', nbgrader: undefined }]);
    assert.deepEqual(problems.map(p => p.code), ['markers-without-type']);
    assert.match(problems[0].message, /no cell type/);
  });

  it('flags duplicate and missing grade ids', () => {
    const problems = validateNotebook([
      cell('readonly', 'a', { grade_id: 'same' }),
      cell('autograded-tests', 'assert 1', { grade_id: 'same', points: 1 }),
      cell('readonly', 'b', { grade_id: '' }),
      cell('readonly', 'c', { grade_id: 'bad id' })
    ]);
    assert.deepEqual(problems.map(p => `${p.cell}:${p.code}`), [
      '1:duplicate-grade-id',
      '2:missing-grade-id',
      '3:bad-grade-id'
    ]);
    assert.match(problems[0].message, /also used by cell 1/);
  });

  it('flags tests without points and kinds the cell type does not allow', () => {
    assert.deepEqual(codes([cell('autograded-tests', 'assert 1', { grade_id: 't', points: undefined })]), [
      '0:missing-points'
    ]);
    assert.deepEqual(codes([cell('autograded-tests', 'assert 1', { grade_id: 't', points: 0 })]), ['0:zero-points']);
    assert.deepEqual(codes([cell('manual-task', 'do it', { grade_id: 't', points: 1 }, 'code')]), [
      '0:task-not-markdown'
    ]);
    assert.deepEqual(codes([cell('autograded-tests', 'x', { grade_id: 't', points: 1 }, 'markdown')]), [
      '0:markdown-autograded'
    ]);
    assert.deepEqual(codes([cell('readonly', 'x', { grade_id: 't', schema_version: 4 })]), ['0:schema-too-new']);
  });
});

describe('classifyPath', () => {
  it('finds source, manual grading and student notebooks', () => {
    assert.deepEqual(classifyPath('lectures/cs1/source/3/nb/a.ipynb', 'lectures'), {
      kind: 'source',
      code: 'cs1',
      assignmentId: 3,
      relative: 'nb/a.ipynb'
    });
    assert.deepEqual(classifyPath('cs1/manualgrade/3/17/a.ipynb', ''), {
      kind: 'manualgrade',
      code: 'cs1',
      assignmentId: 3,
      submissionId: 17,
      relative: 'a.ipynb'
    });
    assert.equal(classifyPath('lectures/cs1/assignments/3/a.ipynb', 'lectures')?.kind, 'assignment');
    assert.equal(classifyPath('other/cs1/source/3/a.ipynb', 'lectures'), null);
    assert.equal(classifyPath('lectures/cs1/source/x/a.ipynb', 'lectures'), null);
    assert.equal(classifyPath('lectures/cs1/source/3/a.ipynb', null), null);
    assert.equal(classifyPath('lecturesX/cs1/source/3/a.ipynb', 'lectures'), null);
  });
});
