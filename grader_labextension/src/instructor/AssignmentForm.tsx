/**
 * Create or edit an assignment: every setting the service accepts, checked as you type
 * (messages next to the fields), the service's own refusal shown where it belongs.
 */
import * as React from 'react';

import { GraderError } from '../api';
import { client } from './client';
import { describe, Field } from './common';
import {
  AUTOGRADE_TYPES,
  draftFromAssignment,
  emptyDraft,
  FieldErrors,
  IAssignmentDraft,
  serviceErrorsToFields,
  validateDraft
} from './form';
import { AutogradeType, FeedbackTiming, IStaffAssignment } from './types';

export interface IAssignmentFormProps {
  lectureId: number;
  /** The assignment to edit; null creates a new one. */
  assignment: IStaffAssignment | null;
  /** Tutors see the settings but cannot change them. */
  readOnly: boolean;
  onSaved(assignment: IStaffAssignment): void;
  onCancel?(): void;
}

/** The draft's free-text settings (not the choices from a fixed list, nor the lists of rows). */
type DraftTextKey = {
  [K in keyof IAssignmentDraft]: string extends IAssignmentDraft[K] ? K : never;
}[keyof IAssignmentDraft];

/** Where a field's message comes from and how an edit marks it touched. */
interface ITracked {
  error: string | undefined;
  onInput(): void;
}

interface IInputFieldProps extends ITracked {
  label: string;
  hint?: string;
  /** An <input> of this type, or a three-row <textarea>. */
  type: 'text' | 'number' | 'datetime-local' | 'textarea';
  value: string;
  onChange(value: string): void;
  min?: string;
  max?: string;
  step?: string;
  placeholder?: string;
  required?: boolean;
}

/** One labelled text, number or date field of the form, with its hint and message. */
function InputField(props: IInputFieldProps): JSX.Element {
  const { label, hint, error, type, value, onChange, onInput, ...attrs } = props;
  return (
    <Field label={label} hint={hint} error={error}>
      {aria =>
        type === 'textarea' ? (
          <textarea
            {...aria}
            rows={3}
            value={value}
            onChange={e => onChange(e.target.value)}
            onInput={onInput}
          />
        ) : (
          <input
            {...aria}
            type={type}
            {...attrs}
            value={value}
            onChange={e => onChange(e.target.value)}
            onInput={onInput}
          />
        )
      }
    </Field>
  );
}

export function AssignmentForm(props: IAssignmentFormProps): JSX.Element {
  const [draft, setDraft] = React.useState<IAssignmentDraft>(() =>
    props.assignment ? draftFromAssignment(props.assignment) : emptyDraft()
  );
  // messages appear once a field was edited or a save was tried (not on blur: a message
  // appearing then shifts the layout under the pointer and swallows the click)
  const [touched, setTouched] = React.useState<Record<string, boolean>>({});
  const [tried, setTried] = React.useState(false);
  const [serverErrors, setServerErrors] = React.useState<FieldErrors>({});
  const [saving, setSaving] = React.useState(false);
  const [saved, setSaved] = React.useState<string | null>(null);

  React.useEffect(() => {
    setDraft(props.assignment ? draftFromAssignment(props.assignment) : emptyDraft());
  }, [props.assignment]);

  const validated = validateDraft(draft);
  const errorOf = (key: string): string | undefined =>
    serverErrors[key] ?? (tried || touched[key] ? validated.errors[key] : undefined);

  const set = (update: Partial<IAssignmentDraft>): void => {
    setDraft(old => ({ ...old, ...update }));
    setServerErrors({});
    setSaved(null);
  };
  const touch = (key: string) => () => setTouched(old => ({ ...old, [key]: true }));
  /** The message and edit tracking of the field whose errors are filed under `key`. */
  const tracked = (key: string): ITracked => ({ error: errorOf(key), onInput: touch(key) });
  /** Value, message and edit tracking of one of the draft's free-text settings. */
  const draftText = (key: DraftTextKey): ITracked & Pick<IInputFieldProps, 'value' | 'onChange'> => ({
    ...tracked(key),
    value: draft[key],
    onChange: value => set({ [key]: value } as Partial<IAssignmentDraft>)
  });

  const save = async (event: React.FormEvent): Promise<void> => {
    event.preventDefault();
    setTried(true);
    setSaved(null);
    if (!validated.settings) {
      return;
    }
    setSaving(true);
    try {
      const result = props.assignment
        ? await client.updateAssignment(props.lectureId, props.assignment.id, {
            name: validated.name,
            settings: validated.settings
          })
        : await client.createAssignment(props.lectureId, validated.name, validated.settings);
      setServerErrors({});
      setTried(false);
      setTouched({});
      setSaved(props.assignment ? 'Settings saved.' : `Created ${result.name}.`);
      props.onSaved(result);
    } catch (e) {
      setServerErrors(
        e instanceof GraderError && e.status === 400
          ? serviceErrorsToFields(e.message)
          : { '': describe(e) }
      );
    } finally {
      setSaving(false);
    }
  };

  const errorCount = tried ? Object.keys(validated.errors).length : 0;
  const disabled = props.readOnly || saving;
  const lateRows = draft.late;
  const extRows = draft.extensions;

  return (
    <form className="jp-grader-form" onSubmit={e => void save(e)} noValidate>
      {props.readOnly && (
        <p className="jp-grader-muted">Only instructors can change these settings.</p>
      )}
      <fieldset disabled={disabled}>
        <legend>General</legend>
        <InputField label="Name" type="text" required {...draftText('name')} />
        <InputField
          label="Group"
          hint="Optional label that groups assignments, e.g. Week 1."
          type="text"
          {...draftText('group')}
        />
        <Field
          label="Grading"
          error={errorOf('autograde_type')}
          hint="Fully automatic grading is refused when the notebooks have manually graded cells."
        >
          {aria => (
            <select
              {...aria}
              value={draft.autograde_type}
              onChange={e => set({ autograde_type: e.target.value as AutogradeType })}
            >
              {AUTOGRADE_TYPES.map(t => (
                <option key={t.value} value={t.value}>
                  {t.label}
                </option>
              ))}
            </select>
          )}
        </Field>
      </fieldset>

      <fieldset disabled={disabled}>
        <legend>Deadline and late submissions</legend>
        <InputField
          label="Deadline"
          hint="In your time zone; empty = no deadline."
          type="datetime-local"
          {...draftText('deadline')}
        />
        <InputField
          label="Release automatically at"
          hint="Optional; empty = release by hand."
          type="datetime-local"
          {...draftText('release_at')}
        />
        <div className="jp-grader-subgroup" role="group" aria-label="Late periods">
          <div className="jp-grader-subgroup-title">Late periods</div>
          <p className="jp-grader-cm-hint">
            Submissions up to a period after the deadline get the score times its factor.
            Durations in ISO-8601: P1D = 1 day, PT12H = 12 hours, P1W = 1 week, P1DT6H.
          </p>
          {errorOf('late') && <div className="jp-grader-cm-field-error">{errorOf('late')}</div>}
          {lateRows.map((p, i) => {
            const patch = (update: Partial<typeof p>) =>
              set({ late: lateRows.map((x, j) => (j === i ? { ...x, ...update } : x)) });
            return (
              <div key={i} className="jp-grader-row">
                <InputField
                  label={`Late period ${i + 1} duration`}
                  type="text"
                  placeholder="P1D"
                  value={p.period}
                  onChange={period => patch({ period })}
                  {...tracked(`late.${i}.period`)}
                />
                <InputField
                  label={`Late period ${i + 1} score factor`}
                  type="number"
                  step="0.05"
                  min="0"
                  max="1"
                  placeholder="0.5"
                  value={p.scaling}
                  onChange={scaling => patch({ scaling })}
                  {...tracked(`late.${i}.scaling`)}
                />
                <button
                  type="button"
                  className="jp-grader-button jp-mod-small"
                  onClick={() => set({ late: lateRows.filter((_, j) => j !== i) })}
                >
                  Remove late period {i + 1}
                </button>
              </div>
            );
          })}
          <button
            type="button"
            className="jp-grader-button jp-mod-small"
            onClick={() => {
              const last = lateRows[lateRows.length - 1];
              const next = last ? { period: '', scaling: '' } : { period: 'P1D', scaling: '0.5' };
              set({ late: [...lateRows, next] });
            }}
          >
            Add late period
          </button>
        </div>
      </fieldset>

      <fieldset disabled={disabled}>
        <legend>Submissions</legend>
        <InputField
          label="Maximum submissions"
          hint="Per student; empty = unlimited."
          type="number"
          min="1"
          step="1"
          {...draftText('max_submissions')}
        />
        <InputField
          label="Allowed files"
          hint="Glob patterns of extra files students may submit besides the notebooks, one per line (e.g. data/*.csv)."
          type="textarea"
          {...draftText('allowed_files')}
        />
        <InputField
          label="Largest file (MiB)"
          hint="Empty = the service's limit."
          type="number"
          min="0"
          step="any"
          {...draftText('max_file_size_mb')}
        />
        <InputField
          label="Most files per submission"
          hint="Empty = no limit."
          type="number"
          min="1"
          step="1"
          {...draftText('max_file_count')}
        />
        <div className="jp-grader-subgroup" role="group" aria-label="Extensions">
          <div className="jp-grader-subgroup-title">Extensions for single students</div>
          {extRows.map((x, i) => {
            const patch = (update: Partial<typeof x>) =>
              set({ extensions: extRows.map((y, j) => (j === i ? { ...y, ...update } : y)) });
            return (
              <div key={i} className="jp-grader-row">
                <InputField
                  label={`Extension ${i + 1} student`}
                  type="text"
                  value={x.username}
                  onChange={username => patch({ username })}
                  {...tracked(`extensions.${i}.username`)}
                />
                <InputField
                  label={`Extension ${i + 1} deadline`}
                  type="datetime-local"
                  value={x.deadline}
                  onChange={deadline => patch({ deadline })}
                  {...tracked(`extensions.${i}.deadline`)}
                />
                <InputField
                  label={`Extension ${i + 1} extra submissions`}
                  type="number"
                  min="0"
                  step="1"
                  value={x.extra_submissions}
                  onChange={extra_submissions => patch({ extra_submissions })}
                  {...tracked(`extensions.${i}.extra_submissions`)}
                />
                <button
                  type="button"
                  className="jp-grader-button jp-mod-small"
                  onClick={() => set({ extensions: extRows.filter((_, j) => j !== i) })}
                >
                  Remove extension {i + 1}
                </button>
              </div>
            );
          })}
          <button
            type="button"
            className="jp-grader-button jp-mod-small"
            onClick={() =>
              set({ extensions: [...extRows, { username: '', deadline: '', extra_submissions: '0' }] })
            }
          >
            Add extension
          </button>
        </div>
      </fieldset>

      <fieldset disabled={disabled}>
        <legend>Grading environment and feedback</legend>
        <InputField
          label="Cell timeout (seconds)"
          hint="Per cell; empty = the service's default (values outside its limits are clamped)."
          type="number"
          min="1"
          step="1"
          {...draftText('cell_timeout')}
        />
        <InputField
          label="Grading image"
          hint="Container image for container executors (must be on the admin's allow-list); empty = the lecture's default."
          type="text"
          {...draftText('image')}
        />
        <Field label="Students see feedback" error={errorOf('feedback_visibility')}>
          {aria => (
            <select
              {...aria}
              value={draft.feedback_when}
              onChange={e => set({ feedback_when: e.target.value as FeedbackTiming })}
            >
              <option value="immediately">As soon as it is released</option>
              <option value="after_deadline">Only after the deadline</option>
            </select>
          )}
        </Field>
        <label className="jp-grader-check">
          <input
            type="checkbox"
            checked={draft.show_test_code}
            onChange={e => set({ show_test_code: e.target.checked })}
          />
          Show the code of visible tests in feedback
        </label>
        <label className="jp-grader-check">
          <input
            type="checkbox"
            checked={draft.show_test_output}
            onChange={e => set({ show_test_output: e.target.checked })}
          />
          Show the output of visible tests in feedback
        </label>
        <p className="jp-grader-cm-hint">Hidden tests are never shown to students.</p>
      </fieldset>

      <div role="alert" className="jp-grader-form-errors">
        {serverErrors[''] && <div className="jp-grader-error">{serverErrors['']}</div>}
        {errorCount > 0 && (
          <div className="jp-grader-error">
            {errorCount === 1 ? 'One field needs' : `${errorCount} fields need`} attention (see the
            messages next to them).
          </div>
        )}
      </div>
      <div className="jp-grader-actions">
        {!props.readOnly && (
          <button type="submit" className="jp-grader-button jp-mod-accept" disabled={saving}>
            {saving ? 'Saving…' : 'Save'}
          </button>
        )}
        {props.onCancel && (
          <button type="button" className="jp-grader-button" onClick={props.onCancel}>
            Cancel
          </button>
        )}
        <span role="status" aria-live="polite" className="jp-grader-status jp-grader-status-ok">
          {saved ?? ''}
        </span>
      </div>
    </form>
  );
}
