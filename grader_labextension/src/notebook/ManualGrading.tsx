/**
 * Manual grading mode for a submission's notebook (`{lectures}/{code}/manualgrade/{a}/{s}/`):
 * a header with the student, the total score, "Save grades" and "Finish manual grading",
 * and per graded cell its automatic score, a manual score, extra credit and a comment.
 * Edits change the submission's gradebook in memory (gradebook.ts) until saved; the
 * service recomputes the score from the saved gradebook.
 */
import { ReactWidget } from '@jupyterlab/apputils';
import { Cell } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { GraderError, requestAPI } from '../api';
import { CellAttachments, DisposableBase, FittedReactWidget } from './cells';
import {
  applyCellEdit,
  formatPoints,
  gradebookTotals,
  gradedCells,
  ICellEdit,
  IGradebook,
  IGradedCell,
  notebookId,
  notebookTotals,
  parseScore
} from './gradebook';
import { asNbgrader } from './metadata';
import { describeError, lectureIdByCode, Store, useStore } from './store';

/** The submission fields shown in the header (the service's SubmissionOut). */
interface IGradedSubmission {
  id: number;
  username: string;
  user_display_name: string;
  manual_status: string;
  auto_status: string;
  grading_score: number | null;
  score_scaling: number;
  score: number | null;
}

interface IGradingState {
  loading: boolean;
  loadError: string | null;
  submission: IGradedSubmission | null;
  gradebook: IGradebook | null;
  /** Increases with every gradebook (re)load, so inputs drop their drafts. */
  revision: number;
  dirty: boolean;
  /** The submission has no gradebook yet: grading starts from the assignment's. */
  notAutograded: boolean;
  /** Grade ids of cells whose inputs hold a value that cannot be saved. */
  invalid: string[];
  busy: string | null;
  message: string | null;
  error: string | null;
}

const MANUAL_STATUS_LABELS: Record<string, string> = {
  not_graded: 'Not graded manually yet',
  being_edited: 'Manual grading in progress',
  manually_graded: 'Manually graded'
};

export interface IManualGradingPlace {
  code: string;
  assignmentId: number;
  submissionId: number;
  /** The notebook's path below the submission directory. */
  relative: string;
}

/**
 * The grading of one submission, shared by all its open notebooks: one gradebook in
 * memory, so saving from one notebook never overwrites edits made in another.
 */
class GradingSession extends DisposableBase {
  /** The session of the submission at `place`, created (and loaded) on first use. */
  static acquire(place: IManualGradingPlace): GradingSession {
    const key = `${place.code}/${place.assignmentId}/${place.submissionId}`;
    let session = GradingSession.sessions.get(key);
    if (!session) {
      session = new GradingSession(place, key);
      GradingSession.sessions.set(key, session);
      void session.load();
    }
    session.users++;
    return session;
  }

  private static readonly sessions = new Map<string, GradingSession>();

  private constructor(
    private readonly place: IManualGradingPlace,
    private readonly key: string
  ) {
    super();
    window.addEventListener('beforeunload', this.warnUnsaved);
  }

  readonly store = new Store<IGradingState>({
    loading: true,
    loadError: null,
    submission: null,
    gradebook: null,
    revision: 0,
    dirty: false,
    notAutograded: false,
    invalid: [],
    busy: null,
    message: null,
    error: null
  });

  /** One notebook less uses the session; the last one disposes it. */
  release(): void {
    this.users--;
    if (this.users <= 0) {
      this.dispose();
    }
  }

  protected onDispose(): void {
    GradingSession.sessions.delete(this.key);
    window.removeEventListener('beforeunload', this.warnUnsaved);
    Signal.clearData(this.store);
  }

  /** (Re)load the submission and its gradebook; unsaved edits are dropped. */
  async load(): Promise<void> {
    this.store.update({ loading: true, loadError: null, error: null, message: null });
    try {
      this.lectureId = await lectureIdByCode(this.place.code);
      const submission = await requestAPI<IGradedSubmission>(this.submissionPath());
      let gradebook: IGradebook;
      let notAutograded = submission.auto_status === 'not_graded';
      try {
        gradebook = await requestAPI<IGradebook>(`${this.submissionPath()}/properties`);
      } catch (error) {
        if (!(error instanceof GraderError && error.status === 404)) {
          throw error;
        }
        // never autograded (e.g. an "unassisted" assignment): grade every cell by hand,
        // starting from the assignment's gradebook (its cells and points, no grades)
        const { assignmentId } = this.place;
        gradebook = await requestAPI<IGradebook>(
          `api/lectures/${this.lectureId}/assignments/${assignmentId}/properties`
        );
        notAutograded = true;
      }
      this.store.update({
        loading: false,
        submission,
        gradebook,
        notAutograded,
        revision: this.store.value.revision + 1,
        dirty: false,
        invalid: []
      });
    } catch (error) {
      this.store.update({
        loading: false,
        loadError: `Cannot load the grades of submission ${this.place.submissionId}: ${describeError(error)}`
      });
    }
  }

  /** Apply a grader's change of one cell to the gradebook in memory. */
  edit(notebook: string, gradeId: string, change: ICellEdit): void {
    const { gradebook } = this.store.value;
    if (!gradebook) {
      return;
    }
    try {
      this.store.update({
        gradebook: applyCellEdit(gradebook, notebook, gradeId, change),
        dirty: true,
        message: null
      });
    } catch (error) {
      this.store.update({ error: describeError(error) });
    }
  }

  /** Mark a cell's inputs as (in)valid: saving waits until every input is valid. */
  setInvalid(cellKey: string, invalid: boolean): void {
    if (this.isDisposed) {
      return;
    }
    const current = this.store.value.invalid;
    if (invalid === current.includes(cellKey)) {
      return;
    }
    this.store.update({
      invalid: invalid ? [...current, cellKey] : current.filter(id => id !== cellKey)
    });
  }

  /** PUT the whole gradebook; the service answers with the recomputed submission. */
  async save(): Promise<boolean> {
    const { gradebook, invalid } = this.store.value;
    if (!gradebook || invalid.length) {
      return false;
    }
    this.store.update({ busy: 'Saving grades…', error: null, message: null });
    try {
      const submission = await requestAPI<IGradedSubmission>(
        `${this.submissionPath()}/properties`,
        { method: 'PUT', json: gradebook }
      );
      this.store.update({
        busy: null,
        submission,
        dirty: this.store.value.gradebook !== gradebook, // edited while saving
        message: `Grades saved. Score: ${formatPoints(submission.score ?? 0)}.`
      });
      return true;
    } catch (error) {
      this.store.update({
        busy: null,
        error: `The grades were not saved: ${describeError(error)}`
      });
      return false;
    }
  }

  /** Save, then set the submission's manual status to "manually_graded". */
  async finish(): Promise<void> {
    if (this.store.value.dirty && !(await this.save())) {
      return;
    }
    this.store.update({ busy: 'Finishing manual grading…', error: null, message: null });
    try {
      const submission = await requestAPI<IGradedSubmission>(this.submissionPath(), {
        method: 'PUT',
        json: { manual_status: 'manually_graded' }
      });
      this.store.update({
        busy: null,
        submission,
        message: 'Manual grading finished: the submission is marked as manually graded.'
      });
    } catch (error) {
      this.store.update({
        busy: null,
        error: `Manual grading was not finished: ${describeError(error)}`
      });
    }
  }

  private submissionPath(): string {
    const { assignmentId, submissionId } = this.place;
    return `api/lectures/${this.lectureId}/assignments/${assignmentId}/submissions/${submissionId}`;
  }

  /** The browser asks before leaving the page while grades are unsaved. */
  private readonly warnUnsaved = (event: BeforeUnloadEvent): void => {
    if (this.store.value.dirty) {
      event.preventDefault();
    }
  };

  private users = 0;
  private lectureId = 0;
}

/** Manual grading of one notebook panel: its header and per-cell grading widgets. */
export class ManualGrading extends DisposableBase {
  constructor(
    private readonly panel: NotebookPanel,
    place: IManualGradingPlace
  ) {
    super();
    this.notebook = notebookId(place.relative);
    this.session = GradingSession.acquire(place);
    this.header = new FittedReactWidget(() => <GradingHeader mode={this} />);
    this.header.addClass('jp-grader-grading-header-widget');
    panel.contentHeader.addWidget(this.header);
    panel.addClass('jp-grader-mod-grading');
    this.attachments = new CellAttachments(panel.content, cell => this.cellBar(cell));
  }

  /** The gradebook key of this notebook. */
  readonly notebook: string;

  get store(): Store<IGradingState> {
    return this.session.store;
  }

  protected onDispose(): void {
    this.attachments.dispose();
    this.header.dispose();
    this.panel.removeClass('jp-grader-mod-grading');
    this.session.release();
  }

  load(): Promise<void> {
    return this.session.load();
  }

  save(): Promise<boolean> {
    return this.session.save();
  }

  finish(): Promise<void> {
    return this.session.finish();
  }

  edit(gradeId: string, change: ICellEdit): void {
    this.session.edit(this.notebook, gradeId, change);
  }

  setInvalid(gradeId: string, invalid: boolean): void {
    this.session.setInvalid(`${this.notebook}/${gradeId}`, invalid);
  }

  private cellBar(cell: Cell): Widget | null {
    const meta = asNbgrader(cell.model.getMetadata('nbgrader'));
    const gradeId = meta?.grade_id;
    if (typeof gradeId !== 'string' || !gradeId) {
      return null;
    }
    const widget = ReactWidget.create(<CellGradeBar mode={this} gradeId={gradeId} />);
    widget.addClass('jp-grader-cell-grade-widget');
    return widget;
  }

  private readonly session: GradingSession;
  private readonly header: Widget;
  private readonly attachments: CellAttachments;
}

function GradingHeader(props: { mode: ManualGrading }): JSX.Element {
  const { mode } = props;
  const state = useStore(mode.store);
  const { submission, gradebook } = state;
  const nb = gradebook?.notebooks?.[mode.notebook];
  const totals = gradebook ? gradebookTotals(gradebook) : null;
  const nbTotals = nb ? notebookTotals(nb) : null;
  const blocked = state.busy !== null || state.loading || !gradebook;
  return (
    <section className="jp-grader-grading-header" aria-label="Manual grading">
      <div className="jp-grader-grading-row">
        <strong>Manual grading</strong>
        {submission && (
          <span className="jp-grader-grading-student">
            {submission.user_display_name && submission.user_display_name !== submission.username
              ? `${submission.user_display_name} (${submission.username})`
              : submission.username}
            , submission {submission.id}
          </span>
        )}
        {totals && (
          <span className="jp-grader-grading-score" data-testid="grading-total">
            Score: {formatPoints(totals.score)} / {formatPoints(totals.maxScore)}
            {nbTotals && Object.keys(gradebook?.notebooks ?? {}).length > 1 && (
              <> (this notebook: {formatPoints(nbTotals.score)} / {formatPoints(nbTotals.maxScore)})</>
            )}
            {submission && submission.score_scaling !== 1 && (
              <> × late factor {submission.score_scaling}</>
            )}
          </span>
        )}
        {submission && (
          <span className="jp-grader-chip">
            {MANUAL_STATUS_LABELS[submission.manual_status] ?? submission.manual_status}
          </span>
        )}
        <span className="jp-grader-spacer" />
        {state.dirty && <span className="jp-grader-unsaved">Unsaved changes</span>}
        <button
          type="button"
          className="jp-mod-styled jp-mod-accept"
          disabled={blocked || !state.dirty || state.invalid.length > 0}
          onClick={() => void mode.save()}
        >
          Save grades
        </button>
        <button
          type="button"
          className="jp-mod-styled"
          disabled={blocked || state.invalid.length > 0}
          onClick={() => void mode.finish()}
        >
          Finish manual grading
        </button>
        <button
          type="button"
          className="jp-mod-styled"
          disabled={state.busy !== null || state.loading}
          onClick={() => void mode.load()}
          title="Load the saved grades again (drops unsaved changes)"
        >
          Reload grades
        </button>
      </div>
      <div className="jp-grader-grading-status" role="status" aria-live="polite">
        {state.loading && 'Loading the submission’s grades…'}
        {!state.loading &&
          state.notAutograded &&
          !state.message &&
          'Not autograded: every cell is graded by hand. Saving stores the first grades. '}
        {state.busy}
        {state.message}
        {state.invalid.length > 0 &&
          `Fix the highlighted inputs (${state.invalid.join(', ')}) before saving.`}
        {gradebook && !nb && ` This notebook (${mode.notebook}) has no graded cells in the submission's gradebook.`}
      </div>
      {(state.loadError || state.error) && (
        <div className="jp-grader-error" role="alert">
          {state.loadError ?? state.error}
        </div>
      )}
    </section>
  );
}

/** A score input that applies valid values at once and explains invalid ones inline. */
function ScoreInput(props: {
  label: string;
  value: number | null;
  revision: number;
  min: number;
  max: number;
  placeholder?: string;
  onValid: (value: number | null) => void;
  onValidity: (valid: boolean) => void;
}): JSX.Element {
  const text = (v: number | null): string => (v === null ? '' : formatPoints(v));
  const [draft, setDraft] = React.useState(text(props.value));
  const [error, setError] = React.useState<string | null>(null);
  const id = React.useId();
  React.useEffect(() => {
    setDraft(text(props.value));
    setError(null);
    props.onValidity(true);
  }, [props.revision]);
  const change = (value: string): void => {
    setDraft(value);
    const parsed = parseScore(value, props.min, props.max, props.label);
    if ('error' in parsed) {
      setError(parsed.error);
      props.onValidity(false);
    } else {
      setError(null);
      props.onValidity(true);
      props.onValid(parsed.value);
    }
  };
  return (
    <span className="jp-grader-field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        type="text"
        inputMode="decimal"
        className="jp-grader-score-input"
        value={draft}
        placeholder={props.placeholder}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
        onChange={e => change(e.target.value)}
        onKeyDown={e => e.stopPropagation()}
      />
      {error && (
        <span id={`${id}-error`} className="jp-grader-field-error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}

const KIND_NAMES = { test: 'Autograded test', answer: 'Manually graded answer', task: 'Task' };

function CellGradeBar(props: { mode: ManualGrading; gradeId: string }): JSX.Element | null {
  const { mode, gradeId } = props;
  const state = useStore(mode.store);
  const [invalidScore, setInvalidScore] = React.useState(false);
  const [invalidExtra, setInvalidExtra] = React.useState(false);
  const commentId = React.useId();
  const [comment, setComment] = React.useState<string | null>(null);
  const nb = state.gradebook?.notebooks?.[mode.notebook];
  const cell: IGradedCell | undefined = nb
    ? gradedCells(nb).find(c => c.gradeId === gradeId)
    : undefined;
  React.useEffect(() => setComment(null), [state.revision]);
  React.useEffect(() => {
    mode.setInvalid(gradeId, invalidScore || invalidExtra);
  }, [invalidScore, invalidExtra]);
  // a closed notebook must not keep blocking "Save grades" in the others
  React.useEffect(() => () => mode.setInvalid(gradeId, false), []);
  if (!cell) {
    return null; // not a graded cell (e.g. an autograded answer or read-only cell)
  }
  const busy = state.busy !== null;
  return (
    <div
      className={`jp-grader-cell-grade${cell.needsGrading ? ' jp-mod-needs-grading' : ''}`}
      role="group"
      aria-label={`Grading of ${gradeId}`}
    >
      <div className="jp-grader-cell-bar-row">
        <span className="jp-grader-chip">{KIND_NAMES[cell.kind]}</span>
        <span>
          Auto score:{' '}
          {cell.autoScore === null ? 'none' : `${formatPoints(cell.autoScore)} / ${formatPoints(cell.maxScore)}`}
        </span>
        <ScoreInput
          label="Manual score"
          value={cell.manualScore}
          revision={state.revision}
          min={0}
          max={cell.maxScore}
          placeholder={cell.autoScore === null ? `0 to ${formatPoints(cell.maxScore)}` : formatPoints(cell.autoScore)}
          onValid={value => mode.edit(gradeId, { manualScore: value })}
          onValidity={valid => setInvalidScore(!valid)}
        />
        <ScoreInput
          label="Extra credit"
          value={cell.extraCredit}
          revision={state.revision}
          min={0}
          max={Infinity}
          onValid={value => mode.edit(gradeId, { extraCredit: value })}
          onValidity={valid => setInvalidExtra(!valid)}
        />
        <span className="jp-grader-cell-score" aria-live="polite">
          Score: {formatPoints(cell.score)} / {formatPoints(cell.maxScore)}
          {cell.needsGrading && <span className="jp-grader-chip jp-mod-warn">needs grading</span>}
        </span>
      </div>
      {cell.autoComment && <pre className="jp-grader-auto-comment">{cell.autoComment}</pre>}
      <span className="jp-grader-field jp-grader-comment">
        <label htmlFor={commentId}>Comment</label>
        <textarea
          id={commentId}
          rows={2}
          disabled={busy}
          value={comment ?? cell.manualComment ?? ''}
          placeholder="Feedback for the student on this cell"
          onChange={e => {
            setComment(e.target.value);
            mode.edit(gradeId, { comment: e.target.value });
          }}
          onKeyDown={e => e.stopPropagation()}
        />
      </span>
    </div>
  );
}
