/**
 * The assignment's "Submissions" tab: everyone's submissions with filters, search,
 * sorting and paging; bulk autograde / feedback / regrade; per submission the grading
 * log, manual grading, an edit copy and the late-penalty factor; CSV export. Statuses
 * follow the service's event stream, so nobody has to reload.
 */
import * as React from 'react';

import { client } from './client';
import { streamEvents } from '../api';
import { chipClass, describe, formatDate, IInstructorOpener, StatusLine, useAction } from './common';
import { fmt } from './stats';
import {
  actionable,
  applyEvent,
  AUTO_LABELS,
  DEFAULT_QUERY,
  FEEDBACK_LABELS,
  ITableQuery,
  MANUAL_LABELS,
  SortKey,
  tableView,
  toggleSort
} from './table';
import { IStaffAssignment, IStaffSubmission, SubmissionFilter } from './types';

export interface ISubmissionsTabProps {
  lectureId: number;
  assignment: IStaffAssignment;
  isInstructor: boolean;
  opener: IInstructorOpener;
}

const COLUMNS: { key: SortKey; label: string }[] = [
  { key: 'student', label: 'Student' },
  { key: 'date', label: 'Submitted' },
  { key: 'auto', label: 'Auto status' },
  { key: 'manual', label: 'Manual status' },
  { key: 'feedback', label: 'Feedback status' },
  { key: 'score', label: 'Score' }
];

/** Run `work` over `items` with at most `limit` requests in flight. */
async function inBatches<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      await work(items[next++]);
    }
  });
  await Promise.all(workers);
}

export function SubmissionsTab(props: ISubmissionsTabProps): JSX.Element {
  const { lectureId, assignment: a } = props;
  const [filter, setFilter] = React.useState<SubmissionFilter>('latest');
  const [all, setAll] = React.useState<IStaffSubmission[] | null>(null);
  const [loadError, setLoadError] = React.useState<string | null>(null);
  const [query, setQuery] = React.useState<ITableQuery>(DEFAULT_QUERY);
  const [selected, setSelected] = React.useState<Set<number>>(new Set());
  const [expanded, setExpanded] = React.useState<Set<number>>(new Set());
  const [live, setLive] = React.useState(false);
  const bulk = useAction();

  const load = React.useCallback(async () => {
    try {
      const list = await client.submissions(lectureId, a.id, filter);
      setAll(list);
      setLoadError(null);
      // keep only selections that still exist
      setSelected(old => new Set(list.filter(s => old.has(s.id)).map(s => s.id)));
    } catch (e) {
      setLoadError(describe(e));
    }
  }, [lectureId, a.id, filter]);

  React.useEffect(() => {
    void load();
  }, [load]);

  // live updates: patch statuses at once; re-read the list (scores, new submissions) soon after
  const reloadTimer = React.useRef<number | undefined>();
  const loadRef = React.useRef(load);
  loadRef.current = load;
  React.useEffect(() => {
    const controller = new AbortController();
    const reloadSoon = () => {
      window.clearTimeout(reloadTimer.current);
      reloadTimer.current = window.setTimeout(() => void loadRef.current(), 600);
    };
    void streamEvents(
      message => {
        if (message.kind === 'resync') {
          reloadSoon();
          return;
        }
        if (message.event.assignment_id !== a.id) {
          return;
        }
        setAll(old => (old ? applyEvent(old, message.event) : old));
        reloadSoon();
      },
      setLive,
      controller.signal,
      { lecture_id: lectureId }
    );
    return () => {
      controller.abort();
      window.clearTimeout(reloadTimer.current);
    };
  }, [lectureId, a.id]);

  const view = tableView(all ?? [], query);
  const selectedRows = (all ?? []).filter(s => selected.has(s.id));
  const pageAllSelected = view.rows.length > 0 && view.rows.every(s => selected.has(s.id));

  const patchQuery = (update: Partial<ITableQuery>) => setQuery(q => ({ ...q, page: 0, ...update }));

  const runBulk = (kind: 'autograde' | 'feedback') => {
    const { ok, skipped } = actionable(selectedRows, kind);
    const verb = kind === 'autograde' ? 'Autograde' : 'Feedback generation';
    return bulk.run(kind, `Queueing ${verb.toLowerCase()} of ${ok.length} submission(s)…`, async () => {
      if (!ok.length) {
        throw new Error(
          kind === 'feedback'
            ? 'Feedback needs autograded submissions: none of the selected ones is.'
            : 'Select submissions that are not being graded right now.'
        );
      }
      const failures: string[] = [];
      await inBatches(ok, 4, async s => {
        try {
          await (kind === 'autograde'
            ? client.autograde(lectureId, a.id, s.id)
            : client.feedback(lectureId, a.id, s.id));
        } catch (e) {
          failures.push(`${s.username}: ${describe(e)}`);
        }
      });
      await load();
      const skippedText = skipped ? ` ${skipped} skipped (not applicable).` : '';
      if (failures.length) {
        throw new Error(
          `${verb} queued for ${ok.length - failures.length}, refused for ${failures.length}: ${failures.join('; ')}.${skippedText}`
        );
      }
      return `${verb} queued for ${ok.length} submission(s).${skippedText}`;
    });
  };

  const regradeAll = () =>
    bulk.run('regrade', 'Queueing a regrade of every submission…', async () => {
      const r = await client.regradeAll(lectureId, a.id);
      await load();
      return `Regrade queued for ${r.queued} submission(s)` +
        (r.already_queued ? `; ${r.already_queued} were already queued.` : '.');
    });

  const exportCsv = () =>
    bulk.run('export', 'Writing the CSV file…', async () => {
      const r = await client.exportAssignment(lectureId, a.id, filter);
      if (r.lab_path) {
        props.opener.openFile(r.lab_path);
      }
      return `Exported ${r.rows} row(s) to ${r.lab_path ?? r.path}.`;
    });

  const toggleRow = (id: number, on: boolean) =>
    setSelected(old => {
      const next = new Set(old);
      if (on) {
        next.add(id);
      } else {
        next.delete(id);
      }
      return next;
    });

  const first = view.matching ? view.page * query.pageSize + 1 : 0;
  const last = Math.min(view.matching, (view.page + 1) * query.pageSize);

  return (
    <div className="jp-grader-submissions-tab">
      <div className="jp-grader-filters" role="search" aria-label="Filter submissions">
        <div className="jp-grader-cm-field">
          <label htmlFor={`jp-grader-filter-${a.id}`}>Submissions per student</label>
          <select
            id={`jp-grader-filter-${a.id}`}
            value={filter}
            onChange={e => {
              setFilter(e.target.value as SubmissionFilter);
              setAll(null);
            }}
          >
            <option value="latest">Latest</option>
            <option value="best">Best</option>
            <option value="none">All</option>
          </select>
        </div>
        <div className="jp-grader-cm-field">
          <label htmlFor={`jp-grader-search-${a.id}`}>Search student</label>
          <input
            id={`jp-grader-search-${a.id}`}
            type="search"
            value={query.search}
            onChange={e => patchQuery({ search: e.target.value })}
          />
        </div>
        <StatusFilter id={`auto-${a.id}`} label="Autograde status" labels={AUTO_LABELS} value={query.auto} onChange={v => patchQuery({ auto: v })} />
        <StatusFilter id={`manual-${a.id}`} label="Manual status" labels={MANUAL_LABELS} value={query.manual} onChange={v => patchQuery({ manual: v })} />
        <StatusFilter id={`feedback-${a.id}`} label="Feedback status" labels={FEEDBACK_LABELS} value={query.feedback} onChange={v => patchQuery({ feedback: v })} />
        <span
          className={live ? 'jp-grader-live jp-mod-live' : 'jp-grader-live'}
          title={live ? 'Statuses update live' : 'Not connected: use Refresh'}
        >
          {live ? 'live' : 'offline'}
        </span>
      </div>

      <div className="jp-grader-actions" role="group" aria-label="Actions on submissions">
        <button
          className="jp-grader-button"
          disabled={!selected.size || !!bulk.running}
          onClick={() => void runBulk('autograde')}
        >
          Autograde selected
        </button>
        <button
          className="jp-grader-button"
          disabled={!selected.size || !!bulk.running}
          onClick={() => void runBulk('feedback')}
        >
          Generate feedback for selected
        </button>
        <button className="jp-grader-button" disabled={!!bulk.running} onClick={() => void regradeAll()}>
          Regrade all
        </button>
        <button className="jp-grader-button" disabled={!!bulk.running} onClick={() => void exportCsv()}>
          Export CSV
        </button>
        <button className="jp-grader-button" disabled={!!bulk.running} onClick={() => void load()}>
          Refresh
        </button>
        <span className="jp-grader-muted">{selected.size} selected</span>
      </div>
      <StatusLine status={bulk.status} />
      {loadError && (
        <div className="jp-grader-error" role="alert">
          Could not load the submissions: {loadError}
        </div>
      )}

      <table className="jp-grader-table jp-grader-submissions-table">
        <caption className="jp-grader-sr-only">
          Submissions of {a.name}, sorted by {COLUMNS.find(c => c.key === query.sort)?.label}{' '}
          {query.direction}
        </caption>
        <thead>
          <tr>
            <th scope="col">
              <input
                type="checkbox"
                aria-label="Select all on this page"
                checked={pageAllSelected}
                onChange={e => view.rows.forEach(s => toggleRow(s.id, e.target.checked))}
              />
            </th>
            {COLUMNS.map(c => (
              <th key={c.key} scope="col" aria-sort={query.sort === c.key ? query.direction : 'none'}>
                <button className="jp-grader-sort" onClick={() => setQuery(q => toggleSort(q, c.key))}>
                  {c.label}
                  <span aria-hidden="true">
                    {query.sort === c.key ? (query.direction === 'ascending' ? ' ▲' : ' ▼') : ''}
                  </span>
                </button>
              </th>
            ))}
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {all === null && !loadError && (
            <tr>
              <td colSpan={8} className="jp-grader-muted">
                Loading…
              </td>
            </tr>
          )}
          {all !== null && view.matching === 0 && (
            <tr>
              <td colSpan={8} className="jp-grader-muted">
                {all.length ? 'No submission matches the filters.' : 'No submissions yet.'}
              </td>
            </tr>
          )}
          {view.rows.map(s => (
            <SubmissionRows
              key={s.id}
              submission={s}
              lectureId={lectureId}
              assignment={a}
              selected={selected.has(s.id)}
              onSelect={on => toggleRow(s.id, on)}
              expanded={expanded.has(s.id)}
              onExpand={on =>
                setExpanded(old => {
                  const next = new Set(old);
                  if (on) {
                    next.add(s.id);
                  } else {
                    next.delete(s.id);
                  }
                  return next;
                })
              }
              opener={props.opener}
              onChanged={updated => setAll(old => old?.map(x => (x.id === updated.id ? updated : x)) ?? old)}
            />
          ))}
        </tbody>
      </table>
      <nav className="jp-grader-pager" aria-label="Pages of submissions">
        <button
          className="jp-grader-button jp-mod-small"
          disabled={view.page === 0}
          onClick={() => setQuery(q => ({ ...q, page: view.page - 1 }))}
        >
          Previous page
        </button>
        <span role="status" aria-live="polite">
          {view.matching
            ? `${first}–${last} of ${view.matching} submissions, page ${view.page + 1} of ${view.pages}`
            : '0 submissions'}
        </span>
        <button
          className="jp-grader-button jp-mod-small"
          disabled={view.page >= view.pages - 1}
          onClick={() => setQuery(q => ({ ...q, page: view.page + 1 }))}
        >
          Next page
        </button>
        <label htmlFor={`jp-grader-pagesize-${a.id}`}>Rows per page</label>
        <select
          id={`jp-grader-pagesize-${a.id}`}
          value={query.pageSize}
          onChange={e => patchQuery({ pageSize: Number(e.target.value) })}
        >
          {[10, 25, 50, 100].map(n => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </nav>
    </div>
  );
}

function StatusFilter(props: {
  id: string;
  label: string;
  labels: Record<string, string>;
  value: string;
  onChange(value: string): void;
}): JSX.Element {
  return (
    <div className="jp-grader-cm-field">
      <label htmlFor={`jp-grader-${props.id}`}>{props.label}</label>
      <select id={`jp-grader-${props.id}`} value={props.value} onChange={e => props.onChange(e.target.value)}>
        <option value="">Any</option>
        {Object.entries(props.labels).map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
    </div>
  );
}

interface ISubmissionRowsProps {
  submission: IStaffSubmission;
  lectureId: number;
  assignment: IStaffAssignment;
  selected: boolean;
  onSelect(on: boolean): void;
  expanded: boolean;
  onExpand(on: boolean): void;
  opener: IInstructorOpener;
  onChanged(s: IStaffSubmission): void;
}

function SubmissionRows(props: ISubmissionRowsProps): JSX.Element {
  const s = props.submission;
  const detailsId = `jp-grader-submission-${s.id}-details`;
  const name = s.user_display_name && s.user_display_name !== s.username
    ? `${s.user_display_name} (${s.username})`
    : s.username;
  return (
    <>
      <tr data-submission-id={s.id} className={props.selected ? 'jp-mod-selected' : ''}>
        <td>
          <input
            type="checkbox"
            aria-label={`Select submission ${s.id} of ${s.username}`}
            checked={props.selected}
            onChange={e => props.onSelect(e.target.checked)}
          />
        </td>
        <th scope="row">{name}</th>
        <td>
          {formatDate(s.submitted_at)}
          {s.edited && <span className="jp-grader-chip"> edited</span>}
        </td>
        <td>
          <span className={chipClass(s.auto_status)}>{AUTO_LABELS[s.auto_status] ?? s.auto_status}</span>
        </td>
        <td>
          <span className={chipClass(s.manual_status)}>
            {MANUAL_LABELS[s.manual_status] ?? s.manual_status}
          </span>
        </td>
        <td>
          <span className={chipClass(s.feedback_status)}>
            {FEEDBACK_LABELS[s.feedback_status] ?? s.feedback_status}
          </span>
        </td>
        <td className="jp-grader-number">
          {s.score === null ? '–' : `${fmt(s.score)} / ${fmt(props.assignment.points)}`}
          {s.score_scaling !== 1 && <span className="jp-grader-muted"> (×{fmt(s.score_scaling)})</span>}
        </td>
        <td>
          <button
            className="jp-grader-button jp-mod-small"
            aria-expanded={props.expanded}
            aria-controls={detailsId}
            aria-label={`Details of ${s.username}'s submission ${s.id}`}
            onClick={() => props.onExpand(!props.expanded)}
          >
            Details<span aria-hidden="true">{props.expanded ? ' ▴' : ' ▾'}</span>
          </button>
        </td>
      </tr>
      {props.expanded && (
        <tr id={detailsId} className="jp-grader-details-row">
          <td colSpan={8}>
            <SubmissionDetails {...props} />
          </td>
        </tr>
      )}
    </>
  );
}

function SubmissionDetails(props: ISubmissionRowsProps): JSX.Element {
  const { lectureId, assignment: a, submission: s } = props;
  const [logs, setLogs] = React.useState<string | null>(null);
  const [scaling, setScaling] = React.useState(String(s.score_scaling));
  const [editPath, setEditPath] = React.useState<string | null>(null);
  const [editMessage, setEditMessage] = React.useState('');
  const action = useAction();
  const scalingValue = Number(scaling);
  const scalingError =
    scaling.trim() === '' || !Number.isFinite(scalingValue) || scalingValue < 0 || scalingValue > 1
      ? 'A factor from 0 to 1 (1 = no penalty).'
      : null;

  const showLogs = () =>
    action.run('logs', 'Loading the grading log…', async () => {
      setLogs(await client.logs(lectureId, a.id, s.id));
    });

  const openFirstNotebook = (copy: { lab_path: string | null; path: string; files: string[] }) => {
    if (!copy.lab_path) {
      throw new Error(`${copy.path} is outside Jupyter's root directory.`);
    }
    props.opener.showFolder(copy.lab_path);
    const notebook = copy.files.find(f => f.endsWith('.ipynb'));
    if (notebook) {
      props.opener.openFile(`${copy.lab_path}/${notebook}`);
    }
    return notebook;
  };

  const manual = () =>
    action.run('manual', 'Pulling the graded notebooks…', async () => {
      const copy = await client.manual(lectureId, a.id, s.id);
      const notebook = openFirstNotebook(copy);
      return notebook
        ? `Opened ${notebook} for manual grading (${copy.files.length} file(s) in ${copy.lab_path}).`
        : `No notebook in ${copy.lab_path ?? copy.path}.`;
    });

  const edit = () =>
    action.run('edit', 'Preparing an edit copy…', async () => {
      const copy = await client.edit(lectureId, a.id, s.id);
      setEditPath(copy.lab_path ?? copy.path);
      openFirstNotebook(copy);
      return `Edit the files in ${copy.lab_path ?? copy.path}, save them, then push the edit.`;
    });

  const pushEdit = () =>
    action.run('push-edit', 'Pushing the edited submission…', async () => {
      const r = await client.pushEdit(lectureId, a.id, s.id, editMessage.trim() || 'Edited by staff');
      setEditMessage('');
      props.onChanged(await client.submission(lectureId, a.id, s.id));
      return `Pushed edit ${r.commit.slice(0, 8)}; autograde it to grade the edited files.`;
    });

  const saveScaling = () =>
    action.run('scaling', 'Saving the score factor…', async () => {
      if (scalingError) {
        throw new Error(scalingError);
      }
      const updated = await client.updateSubmission(lectureId, a.id, s.id, { score_scaling: scalingValue });
      props.onChanged(updated);
      return `Score factor ${fmt(updated.score_scaling)}: score ${fmt(updated.score)}.`;
    });

  const single = (kind: 'autograde' | 'feedback') =>
    action.run(kind, kind === 'autograde' ? 'Queueing the autograde…' : 'Queueing feedback…', async () => {
      await (kind === 'autograde'
        ? client.autograde(lectureId, a.id, s.id)
        : client.feedback(lectureId, a.id, s.id));
      return kind === 'autograde' ? 'Autograde queued.' : 'Feedback generation queued.';
    });

  const busy = !!action.running;
  return (
    <div className="jp-grader-details" aria-label={`Submission ${s.id} of ${s.username}`} role="group">
      <div className="jp-grader-muted">
        Commit {s.commit_hash.slice(0, 12)} · grading score {fmt(s.grading_score)} · submission {s.id}
      </div>
      <div className="jp-grader-actions">
        <button className="jp-grader-button" disabled={busy} onClick={() => void (logs === null ? showLogs() : setLogs(null))}>
          {logs === null ? 'Show logs' : 'Hide logs'}
        </button>
        <button className="jp-grader-button jp-mod-accept" disabled={busy} onClick={() => void manual()}>
          Manual grading
        </button>
        <button className="jp-grader-button" disabled={busy} onClick={() => void single('autograde')}>
          Autograde
        </button>
        <button
          className="jp-grader-button"
          disabled={busy || s.auto_status !== 'automatically_graded'}
          onClick={() => void single('feedback')}
        >
          Generate feedback
        </button>
        <button className="jp-grader-button" disabled={busy} onClick={() => void edit()}>
          Edit submission
        </button>
      </div>
      {editPath && (
        <div className="jp-grader-row">
          <div className="jp-grader-cm-field">
            <label htmlFor={`jp-grader-edit-message-${s.id}`}>Edit message</label>
            <input
              id={`jp-grader-edit-message-${s.id}`}
              type="text"
              value={editMessage}
              placeholder="Edited by staff"
              onChange={e => setEditMessage(e.target.value)}
            />
          </div>
          <button className="jp-grader-button jp-mod-accept" disabled={busy} onClick={() => void pushEdit()}>
            Push edited submission
          </button>
        </div>
      )}
      <div className="jp-grader-row">
        <div className="jp-grader-cm-field">
          <label htmlFor={`jp-grader-scaling-${s.id}`}>Score factor</label>
          <input
            id={`jp-grader-scaling-${s.id}`}
            type="number"
            min="0"
            max="1"
            step="0.05"
            value={scaling}
            aria-invalid={!!scalingError}
            aria-describedby={scalingError ? `jp-grader-scaling-${s.id}-error` : undefined}
            onChange={e => setScaling(e.target.value)}
          />
          {scalingError && (
            <div id={`jp-grader-scaling-${s.id}-error`} className="jp-grader-cm-field-error">
              {scalingError}
            </div>
          )}
        </div>
        <button className="jp-grader-button" disabled={busy || !!scalingError} onClick={() => void saveScaling()}>
          Save score factor
        </button>
      </div>
      <StatusLine status={action.status} />
      {logs !== null && (
        <pre className="jp-grader-logs" aria-label={`Grading log of submission ${s.id}`} tabIndex={0}>
          {logs || '(empty log)'}
        </pre>
      )}
    </div>
  );
}
