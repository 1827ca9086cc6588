/**
 * Unit tests of the checks before a submission (`jlpm test`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { globMatch, isAllowedFile, planSubmission } from '../student/validation.js';
import { ILocalStatus, ISubmission } from '../types.js';

function local(over: Partial<ILocalStatus> = {}): ILocalStatus {
  return {
    fetched: true,
    path: '/home/ada/lectures/c1/assignments/7',
    lab_path: 'lectures/c1/assignments/7',
    commit: 'a'.repeat(40),
    changed_files: [],
    untracked_files: [],
    files: ['hw.ipynb'],
    ...over
  };
}

function submission(id: number, commit: string, at: string): ISubmission {
  return {
    id,
    assignment_id: 7,
    submitted_at: at,
    commit_hash: commit,
    auto_status: 'automatically_graded',
    manual_status: 'not_graded',
    feedback_status: 'not_generated',
    score: null,
    queue_position: null,
    estimated_wait_seconds: null
  };
}

describe('globMatch', () => {
  it('follows shell case patterns', () => {
    assert.ok(globMatch('*.csv', 'data.csv'));
    assert.ok(globMatch('*.csv', 'data/raw.csv')); // * crosses slashes, like `case`
    assert.ok(!globMatch('*.csv', 'data.csv.bak'));
    assert.ok(globMatch('img?.png', 'img1.png'));
    assert.ok(globMatch('[ab].txt', 'b.txt') && !globMatch('[!ab].txt', 'b.txt'));
    assert.ok(globMatch('a+b(1).txt', 'a+b(1).txt')); // regex characters are literal
  });
  it('matches the name or the whole path, like the service', () => {
    assert.ok(isAllowedFile('sub/notes.ipynb', []));
    assert.ok(isAllowedFile('data/x.csv', ['*.csv']));
    assert.ok(isAllowedFile('data/x.csv', ['data/*']));
    assert.ok(!isAllowedFile('scratch.txt', ['*.csv']));
  });
});

describe('planSubmission', () => {
  const base = { allowedFiles: ['*.csv'], unsavedPaths: [], submissions: [] };

  it('has nothing to say about a normal submission', () => {
    const plan = planSubmission({ ...base, local: local({ changed_files: ['hw.ipynb'] }) });
    assert.deepEqual(plan, { issues: [], files: null });
  });
  it('lists unsaved open files of this assignment only, by their name in it', () => {
    const plan = planSubmission({
      ...base,
      local: local({ changed_files: ['hw.ipynb'] }),
      unsavedPaths: ['lectures/c1/assignments/7/hw.ipynb', 'lectures/c1/assignments/70/x.ipynb']
    });
    assert.equal(plan.issues.length, 1);
    assert.equal(plan.issues[0].kind, 'unsaved');
    assert.deepEqual(plan.issues[0].files, ['hw.ipynb']);
  });
  it('leaves out new files the service would refuse, and sends the rest', () => {
    const plan = planSubmission({
      ...base,
      local: local({
        changed_files: ['hw.ipynb'],
        untracked_files: ['data.csv', 'scratch.txt', 'extra.ipynb']
      })
    });
    assert.deepEqual(plan.issues.map(i => i.kind), ['not-allowed']);
    assert.deepEqual(plan.issues[0].files, ['scratch.txt']);
    assert.match(plan.issues[0].message, /allowed: \*\.ipynb, \*\.csv/);
    assert.deepEqual(plan.files, ['hw.ipynb', 'data.csv', 'extra.ipynb']);
  });
  it('warns when nothing changed since the newest submission', () => {
    const commit = 'a'.repeat(40);
    const submissions = [
      submission(1, 'b'.repeat(40), '2030-01-01T10:00:00Z'),
      submission(2, commit, '2030-01-02T10:00:00Z')
    ];
    let plan = planSubmission({ ...base, local: local({ commit }), submissions });
    assert.deepEqual(plan.issues.map(i => i.kind), ['unchanged']);
    // an older submission's files (e.g. restored) are a change against the newest one
    plan = planSubmission({
      ...base,
      local: local({ commit }),
      submissions: [
        submission(1, commit, '2030-01-01T10:00:00Z'),
        submission(2, 'b'.repeat(40), '2030-01-03T10:00:00Z')
      ]
    });
    assert.deepEqual(plan.issues, []);
    // only refused files are new: still nothing to submit
    plan = planSubmission({
      ...base,
      local: local({ commit, untracked_files: ['scratch.txt'] }),
      submissions
    });
    assert.deepEqual(plan.issues.map(i => i.kind), ['not-allowed', 'unchanged']);
  });
});
