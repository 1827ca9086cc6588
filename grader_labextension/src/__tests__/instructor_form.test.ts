/**
 * The assignment form's validation and conversion (src/instructor/form.ts): the rules
 * an instructor meets before the service would refuse the request.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  draftFromAssignment,
  emptyDraft,
  fromLocalInput,
  IAssignmentDraft,
  serviceErrorsToFields,
  toLocalInput,
  validateDraft
} from '../instructor/form.js';
import { IStaffAssignment } from '../instructor/types.js';

function draft(over: Partial<IAssignmentDraft> = {}): IAssignmentDraft {
  return { ...emptyDraft(), name: 'hw1', ...over };
}

describe('validateDraft', () => {
  it('builds the settings the service expects from a minimal form', () => {
    const { errors, name, settings } = validateDraft(draft({ name: '  hw1 ' }));
    assert.deepEqual(errors, {});
    assert.equal(name, 'hw1');
    assert.deepEqual(settings, {
      deadline: null,
      late_submission: [],
      max_submissions: null,
      allowed_files: [],
      autograde_type: 'auto',
      cell_timeout: null,
      group: null,
      release_at: null,
      extensions: [],
      image: null,
      max_file_size_mb: null,
      max_file_count: null,
      feedback_visibility: { show_test_code: true, show_test_output: true, when: 'immediately' }
    });
  });

  it('refuses names the service refuses', () => {
    assert.match(validateDraft(draft({ name: ' ' })).errors.name, /name/);
    assert.match(validateDraft(draft({ name: 'a/b' })).errors.name, /\//);
    assert.match(validateDraft(draft({ name: 'x'.repeat(256) })).errors.name, /255/);
    assert.equal(validateDraft(draft({ name: 'Übung 1 (Teil a)' })).errors.name, undefined);
  });

  it('converts every setting', () => {
    const { errors, settings } = validateDraft(
      draft({
        deadline: '2030-01-10T12:00',
        late: [
          { period: 'P1D', scaling: '0.5' },
          { period: 'P1W', scaling: '0.25' }
        ],
        max_submissions: '3',
        allowed_files: 'data/*.csv\n\n  *.txt ',
        autograde_type: 'full_auto',
        cell_timeout: '60',
        group: ' Week 1 ',
        extensions: [{ username: 'alice', deadline: '2030-01-12T12:00', extra_submissions: '2' }],
        image: 'registry.example.org/grader:1',
        max_file_size_mb: '2.5',
        max_file_count: '10',
        show_test_output: false,
        feedback_when: 'after_deadline'
      })
    );
    assert.deepEqual(errors, {});
    assert.ok(settings);
    assert.equal(settings.deadline, fromLocalInput('2030-01-10T12:00'));
    assert.deepEqual(settings.late_submission, [
      { period: 'P1D', scaling: 0.5 },
      { period: 'P1W', scaling: 0.25 }
    ]);
    assert.equal(settings.max_submissions, 3);
    assert.deepEqual(settings.allowed_files, ['data/*.csv', '*.txt']);
    assert.equal(settings.group, 'Week 1');
    assert.deepEqual(settings.extensions, [
      { username: 'alice', deadline: fromLocalInput('2030-01-12T12:00'), extra_submissions: 2 }
    ]);
    assert.equal(settings.max_file_size_mb, 2.5);
    assert.deepEqual(settings.feedback_visibility, {
      show_test_code: true,
      show_test_output: false,
      when: 'after_deadline'
    });
  });

  it('checks late periods like the service: deadline, positive, increasing, decreasing', () => {
    const noDeadline = validateDraft(draft({ late: [{ period: 'P1D', scaling: '0.5' }] }));
    assert.match(noDeadline.errors.late, /deadline/);
    assert.equal(noDeadline.settings, null);

    const bad = validateDraft(
      draft({
        deadline: '2030-01-10T12:00',
        late: [
          { period: 'one day', scaling: '1' },
          { period: 'PT0S', scaling: '0' }
        ]
      })
    );
    assert.match(bad.errors['late.0.period'], /ISO-8601/);
    assert.match(bad.errors['late.0.scaling'], /between 0 and 1/);
    assert.match(bad.errors['late.1.period'], /longer than zero/);
    assert.match(bad.errors['late.1.scaling'], /between 0 and 1/);

    const order = validateDraft(
      draft({
        deadline: '2030-01-10T12:00',
        late: [
          { period: 'P2D', scaling: '0.5' },
          { period: 'PT36H', scaling: '0.7' }
        ]
      })
    );
    assert.match(order.errors['late.1.period'], /longer than the one before/);
    assert.match(order.errors['late.1.scaling'], /less than the one before/);
  });

  it('checks numbers, files and extensions', () => {
    const { errors } = validateDraft(
      draft({
        max_submissions: '0',
        cell_timeout: '1.5',
        max_file_count: 'many',
        max_file_size_mb: '-1',
        allowed_files: '../secret',
        image: 'my image',
        extensions: [
          { username: 'bob', deadline: '', extra_submissions: '1' },
          { username: 'bob', deadline: '', extra_submissions: '-1' },
          { username: '', deadline: '2030-02-30T10:00', extra_submissions: '0' },
          { username: 'carol', deadline: '', extra_submissions: '0' }
        ]
      })
    );
    assert.ok(errors.max_submissions);
    assert.ok(errors.cell_timeout);
    assert.ok(errors.max_file_count);
    assert.ok(errors.max_file_size_mb);
    assert.match(errors.allowed_files, /relative/);
    assert.match(errors.image, /spaces/);
    assert.equal(errors['extensions.0.username'], undefined);
    assert.match(errors['extensions.1.username'], /already/);
    assert.ok(errors['extensions.1.extra_submissions']);
    assert.ok(errors['extensions.2.username']);
    assert.ok(errors['extensions.2.deadline']); // February 30th
    assert.match(errors['extensions.3.deadline'], /later deadline or extra/);
  });
});

describe('dates and round trips', () => {
  it('reads back what it writes', () => {
    const iso = fromLocalInput('2030-06-01T09:30');
    assert.ok(iso?.endsWith('Z'));
    assert.equal(toLocalInput(iso), '2030-06-01T09:30');
    assert.equal(fromLocalInput('tomorrow'), null);
    assert.equal(toLocalInput(null), '');
  });

  it('turns an assignment into a draft that validates to the same settings', () => {
    const settings = validateDraft(
      draft({
        deadline: '2030-01-10T12:00',
        late: [{ period: 'P1DT12H', scaling: '0.5' }],
        max_submissions: '2',
        extensions: [{ username: 'dan', deadline: '', extra_submissions: '1' }],
        image: 'img:1'
      })
    ).settings;
    assert.ok(settings);
    const assignment: IStaffAssignment = {
      id: 1,
      lecture_id: 1,
      name: 'hw1',
      status: 'created',
      points: 0,
      settings,
      deleted: false,
      created_at: '',
      updated_at: ''
    };
    const again = validateDraft(draftFromAssignment(assignment));
    assert.deepEqual(again.errors, {});
    assert.deepEqual(again.settings, settings);
  });
});

describe('serviceErrorsToFields', () => {
  it('puts the service\'s messages next to the fields they name', () => {
    const fields = serviceErrorsToFields(
      'body.settings.late_submission.0.scaling: Input should be less than 1; ' +
        'body.name: String should match pattern; body.settings.image: not allowed; ' +
        'body.settings: Value error, late_submission periods need a deadline'
    );
    assert.equal(fields['late.0.scaling'], 'Input should be less than 1');
    assert.equal(fields.name, 'String should match pattern');
    assert.equal(fields.image, 'not allowed');
    assert.match(fields[''], /need a deadline/);
  });

  it('keeps a message that itself contains "; " together', () => {
    const fields = serviceErrorsToFields(
      'body.settings.image: assignments may not choose a grading image here; ask your admin ' +
        'to list allowed images in c.ImagePolicy.allowed_images'
    );
    assert.deepEqual(fields, {
      image:
        'assignments may not choose a grading image here; ask your admin to list allowed ' +
        'images in c.ImagePolicy.allowed_images'
    });
  });

  it('keeps a plain conflict message whole', () => {
    assert.deepEqual(serviceErrorsToFields("The lecture already has an assignment named 'a'."), {
      '': "The lecture already has an assignment named 'a'."
    });
  });
});
