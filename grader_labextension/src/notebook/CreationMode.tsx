/**
 * Creation mode: per-cell grading widgets (cell type, grade id, points, hint) that read
 * and write `metadata.nbgrader` as the service's converter expects, and a problems
 * list from the validator with a count on the toolbar toggle.
 */
import { ReactWidget } from '@jupyterlab/apputils';
import { Cell } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import {
  CellAttachments,
  cellInfos,
  DisposableBase,
  FittedReactWidget,
  NotebookChanges,
  revealCell
} from './cells';
import {
  asNbgrader,
  CELL_KINDS,
  CellKind,
  gradeIdError,
  hasPoints,
  kindAllowed,
  kindOf,
  KIND_LABELS,
  metadataFor,
  parsePoints
} from './metadata';
import { Store, useStore } from './store';
import { IProblem, totalPoints, validateNotebook } from './validator';

interface ICreationState {
  enabled: boolean;
  problems: IProblem[];
  points: number;
  gradedCells: number;
  /** Grade ids in use, to give new cells a fresh one. */
  gradeIds: Set<string>;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The "Creation mode" toolbar toggle with the number of problems. */
function CreationToggle(props: { store: Store<ICreationState>; onToggle: () => void }): JSX.Element {
  const state = useStore(props.store);
  const count = state.problems.length;
  const errors = state.problems.filter(p => p.severity === 'error').length;
  const descriptionId = React.useId();
  return (
    <button
      type="button"
      className={`jp-grader-creation-toggle${state.enabled ? ' jp-mod-active' : ''}`}
      aria-pressed={state.enabled}
      aria-label="Creation mode"
      aria-describedby={descriptionId}
      title={
        count
          ? `Creation mode: ${plural(count, 'problem')} in this notebook`
          : 'Creation mode: set the grading role of each cell'
      }
      onClick={props.onToggle}
    >
      <span aria-hidden="true">Creation mode</span>
      <span id={descriptionId} className="jp-grader-sr-only">
        {count ? `${plural(count, 'problem')} in this notebook` : 'No problems'}
      </span>
      {count > 0 && (
        <span
          className={`jp-grader-badge${errors ? ' jp-mod-error' : ''}`}
          data-testid="creation-problem-count"
          aria-hidden="true"
        >
          {count}
        </span>
      )}
    </button>
  );
}

/** The problems list above the notebook; a click on a problem goes to its cell. */
function ProblemsList(props: {
  store: Store<ICreationState>;
  reveal: (index: number) => void;
}): JSX.Element {
  const state = useStore(props.store);
  const [open, setOpen] = React.useState(true);
  const { problems } = state;
  const summary = problems.length
    ? `${plural(problems.length, 'problem')} to fix before release`
    : 'No problems found';
  return (
    <section className="jp-grader-problems" aria-label="Assignment problems">
      <div className="jp-grader-problems-header">
        <button
          type="button"
          className="jp-grader-link-button"
          aria-expanded={open}
          onClick={() => setOpen(!open)}
        >
          {open ? '▾' : '▸'} {summary}
        </button>
        <span className="jp-grader-problems-total" aria-live="polite">
          {plural(state.gradedCells, 'graded cell')}, {state.points} points in total
        </span>
      </div>
      {open && problems.length > 0 && (
        <ul className="jp-grader-problems-list">
          {problems.map((p, i) => (
            <li key={i} className={`jp-grader-problem jp-mod-${p.severity}`}>
              <button type="button" onClick={() => props.reveal(p.cell)}>
                <span className="jp-grader-problem-where">
                  {p.severity === 'error' ? 'Error' : 'Warning'}, cell {p.cell + 1}:
                </span>{' '}
                {p.message}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** A text input that writes on Enter or blur, and shows why a value is refused. */
function CommitInput(props: {
  label: string;
  value: string;
  validate: (text: string) => string | null;
  commit: (text: string) => void;
  className?: string;
  inputMode?: 'decimal' | 'text';
}): JSX.Element {
  const [draft, setDraft] = React.useState(props.value);
  const [error, setError] = React.useState<string | null>(null);
  const id = React.useId();
  React.useEffect(() => {
    setDraft(props.value);
    setError(null);
  }, [props.value]);
  const commit = (): void => {
    const problem = props.validate(draft);
    setError(problem);
    if (!problem && draft !== props.value) {
      props.commit(draft);
    }
  };
  return (
    <span className={`jp-grader-field ${props.className ?? ''}`}>
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        type="text"
        inputMode={props.inputMode ?? 'text'}
        value={draft}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
        onChange={e => setDraft(e.target.value)}
        onBlur={commit}
        onKeyDown={e => {
          if (e.key === 'Enter') {
            e.preventDefault();
            commit();
          } else if (e.key === 'Escape') {
            setDraft(props.value);
            setError(null);
          }
          e.stopPropagation(); // keep notebook shortcuts out of the field
        }}
      />
      {error && (
        <span id={`${id}-error`} className="jp-grader-field-error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}

/** Re-renders when the cell's metadata or type changes. */
function useCellMetadata(cell: Cell): number {
  const [version, setVersion] = React.useState(0);
  React.useEffect(() => {
    const bump = (): void => setVersion(v => v + 1);
    cell.model.metadataChanged.connect(bump);
    return () => {
      cell.model.metadataChanged.disconnect(bump);
    };
  }, [cell]);
  return version;
}

/** The grading widgets of one cell. */
function CellTypeBar(props: {
  cell: Cell;
  store: Store<ICreationState>;
  index: () => number;
}): JSX.Element {
  const { cell } = props;
  useCellMetadata(cell);
  const state = useStore(props.store);
  const [showHint, setShowHint] = React.useState(false);
  const raw = cell.model.getMetadata('nbgrader');
  const meta = asNbgrader(raw);
  const kind = kindOf(raw);
  const hint = cell.model.getMetadata('hint');
  const hintText = typeof hint === 'string' ? hint : '';
  const index = props.index();
  const problems = state.problems.filter(p => p.cell === index);
  const selectId = React.useId();

  const setKind = (next: CellKind): void => {
    const value = metadataFor(next, raw, state.gradeIds);
    if (value) {
      cell.model.setMetadata('nbgrader', value);
    } else {
      cell.model.deleteMetadata('nbgrader');
    }
  };
  const patch = (changes: Record<string, unknown>): void => {
    cell.model.setMetadata('nbgrader', { ...(meta ?? {}), ...changes });
  };
  const setHint = (text: string): void => {
    if (text.trim()) {
      cell.model.setMetadata('hint', text);
    } else {
      cell.model.deleteMetadata('hint');
    }
  };

  return (
    <div className={`jp-grader-cell-bar jp-grader-kind-${kind}`}>
      <div className="jp-grader-cell-bar-row">
        <span className="jp-grader-field">
          <label htmlFor={selectId}>Cell type</label>
          <select
            id={selectId}
            value={kind}
            onChange={e => setKind(e.target.value as CellKind)}
            onKeyDown={e => e.stopPropagation()}
          >
            {CELL_KINDS.map(k => (
              <option key={k} value={k} disabled={k !== kind && !kindAllowed(k, cell.model.type)}>
                {k === 'none' ? 'None (not graded)' : KIND_LABELS[k]}
              </option>
            ))}
          </select>
        </span>
        {kind !== 'none' && (
          <CommitInput
            label="Grade id"
            className="jp-grader-grade-id"
            value={typeof meta?.grade_id === 'string' ? meta.grade_id : ''}
            validate={text => {
              const error = gradeIdError(text.trim());
              if (error) {
                return error;
              }
              const others = validateDuplicates(state, text.trim(), meta?.grade_id);
              return others;
            }}
            commit={text => patch({ grade_id: text.trim() })}
          />
        )}
        {hasPoints(kind) && (
          <CommitInput
            label="Points"
            className="jp-grader-points"
            inputMode="decimal"
            value={typeof meta?.points === 'number' ? String(meta.points) : ''}
            validate={text => {
              const parsed = parsePoints(text);
              return 'error' in parsed ? parsed.error : null;
            }}
            commit={text => {
              const parsed = parsePoints(text);
              if ('value' in parsed) {
                patch({ points: parsed.value });
              }
            }}
          />
        )}
        {kind !== 'none' && !showHint && hintText === '' && (
          <button type="button" className="jp-grader-link-button" onClick={() => setShowHint(true)}>
            Add hint
          </button>
        )}
      </div>
      {kind !== 'none' && (showHint || hintText !== '') && (
        <HintEditor value={hintText} commit={setHint} />
      )}
      {problems.length > 0 && (
        <ul className="jp-grader-cell-problems">
          {problems.map((p, i) => (
            <li key={i} className={`jp-grader-problem jp-mod-${p.severity}`}>
              {p.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A grade id taken by another cell, as an error message (the validator flags it too). */
function validateDuplicates(
  state: ICreationState,
  id: string,
  own: string | undefined
): string | null {
  return id !== own && state.gradeIds.has(id)
    ? `Grade id "${id}" is already used by another cell.`
    : null;
}

function HintEditor(props: { value: string; commit: (text: string) => void }): JSX.Element {
  const [draft, setDraft] = React.useState(props.value);
  const id = React.useId();
  React.useEffect(() => setDraft(props.value), [props.value]);
  return (
    <span className="jp-grader-field jp-grader-hint">
      <label htmlFor={id}>Hint</label>
      <textarea
        id={id}
        rows={2}
        value={draft}
        placeholder="Shown to students who ask for a hint"
        onChange={e => setDraft(e.target.value)}
        onBlur={() => draft !== props.value && props.commit(draft)}
        onKeyDown={e => e.stopPropagation()}
      />
    </span>
  );
}

/** Creation mode of one notebook panel. */
export class CreationMode extends DisposableBase {
  readonly toggle: Widget;

  constructor(private readonly panel: NotebookPanel) {
    super();
    this.toggle = ReactWidget.create(
      <CreationToggle store={this.store} onToggle={() => this.setEnabled(!this.store.value.enabled)} />
    );
    this.toggle.addClass('jp-grader-creation-toggle-item');
    this.changes = new NotebookChanges(panel.content, () => this.validate());
  }

  get enabled(): boolean {
    return this.store.value.enabled;
  }

  setEnabled(enabled: boolean): void {
    if (!this.isDisposed) {
      this.switchTo(enabled);
    }
  }

  protected onDispose(): void {
    this.switchTo(false);
    this.changes.dispose();
    this.toggle.dispose();
    Signal.clearData(this.store);
  }

  private switchTo(enabled: boolean): void {
    if (enabled === this.store.value.enabled) {
      return;
    }
    this.store.update({ enabled });
    if (enabled) {
      this.problems = new FittedReactWidget(() => (
        <ProblemsList store={this.store} reveal={i => revealCell(this.panel.content, i)} />
      ));
      this.problems.addClass('jp-grader-problems-widget');
      this.panel.contentHeader.addWidget(this.problems);
      this.attachments = new CellAttachments(this.panel.content, cell => this.cellBar(cell));
      this.panel.addClass('jp-grader-mod-creation');
      this.validate();
    } else {
      this.attachments?.dispose();
      this.attachments = null;
      this.problems?.dispose();
      this.problems = null;
      this.panel.removeClass('jp-grader-mod-creation');
    }
  }

  private cellBar(cell: Cell): Widget {
    const notebook = this.panel.content;
    const widget = ReactWidget.create(
      <CellTypeBar cell={cell} store={this.store} index={() => notebook.widgets.indexOf(cell)} />
    );
    widget.addClass('jp-grader-cell-bar-widget');
    return widget;
  }

  private validate(): void {
    if (this.isDisposed) {
      return;
    }
    const cells = cellInfos(this.panel.content);
    const gradeIds = new Set<string>();
    let gradedCells = 0;
    for (const cell of cells) {
      const meta = asNbgrader(cell.nbgrader);
      const kind = kindOf(cell.nbgrader);
      if (kind !== 'none' && typeof meta?.grade_id === 'string') {
        gradeIds.add(meta.grade_id);
      }
      if (hasPoints(kind)) {
        gradedCells++;
      }
    }
    this.store.update({
      problems: validateNotebook(cells),
      points: totalPoints(cells),
      gradedCells,
      gradeIds
    });
  }

  private readonly store = new Store<ICreationState>({
    enabled: false,
    problems: [],
    points: 0,
    gradedCells: 0,
    gradeIds: new Set()
  });
  private readonly changes: NotebookChanges;
  private attachments: CellAttachments | null = null;
  private problems: Widget | null = null;
}
