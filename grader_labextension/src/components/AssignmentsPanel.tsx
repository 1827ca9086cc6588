/**
 * The "Assignments" sidebar: lectures, their assignments, and live grading status.
 */
import { Dialog, Notification, ReactWidget, showDialog } from '@jupyterlab/apputils';
import { refreshIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { GraderError, requestAPI, streamEvents } from '../api';
import {
  IAssignment,
  IExtensionInfo,
  IFeedback,
  ILecture,
  ILocalStatus,
  ISubmission,
  ISubmissionCount
} from '../types';
import { planSubmission, ISubmitIssue } from '../student/validation';
import { AssignmentCard, IAssignmentActions } from './AssignmentCard';

/** What the panel needs from JupyterLab: opening files and folders. */
export interface IOpener {
  openFile(path: string): void;
  showFolder(path: string): void;
  /**
   * JupyterLab paths of open documents with unsaved edits; checked before submitting
   * (optional: without it that check is skipped).
   */
  unsavedFiles?(): string[];
  /**
   * Save the open documents with unsaved edits under the folder `prefix` (a JupyterLab
   * path); resolves when they are on disk. Called before submitting.
   */
  saveFiles?(prefix: string): Promise<void>;
  /**
   * Reload the open, unmodified documents under `prefix` from disk (after a restore or
   * reset replaced the files under them).
   */
  reloadFiles?(prefix: string): Promise<void>;
}

/** The body of the submit confirmation: the remaining count and what the checks found. */
function SubmitSummary(props: { intro: string; issues: ISubmitIssue[] }): JSX.Element {
  return (
    <div className="jp-grader-submit-summary">
      <p>{props.intro}</p>
      {props.issues.map(issue => (
        <div key={issue.kind} className={`jp-grader-issue jp-grader-issue-${issue.kind}`}>
          <p>{issue.message}</p>
          {issue.files.length > 0 && (
            <ul aria-label={issue.message}>
              {issue.files.map(f => (
                <li key={f}>
                  <code>{f}</code>
                </li>
              ))}
            </ul>
          )}
        </div>
      ))}
    </div>
  );
}

interface IAssignmentState {
  local: ILocalStatus | null;
  count: ISubmissionCount | null;
  submissions: ISubmission[];
}

const EMPTY: IAssignmentState = { local: null, count: null, submissions: [] };

const key = (lectureId: number, assignmentId: number): string => `${lectureId}/${assignmentId}`;
const base = (a: IAssignment): string => `lectures/${a.lecture_id}/assignments/${a.id}`;

function describe(error: unknown): string {
  return error instanceof GraderError ? error.message : String(error);
}

/** A clock that ticks every second while mounted (for the countdowns). */
function useNow(): Date {
  const [now, setNow] = React.useState(() => new Date());
  React.useEffect(() => {
    const timer = setInterval(() => setNow(new Date()), 1000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

export function AssignmentsView(props: { opener: IOpener }): JSX.Element {
  const now = useNow();
  const [info, setInfo] = React.useState<IExtensionInfo | null>(null);
  const [lectures, setLectures] = React.useState<ILecture[] | null>(null);
  const [assignments, setAssignments] = React.useState<Record<number, IAssignment[]>>({});
  const [states, setStates] = React.useState<Record<string, IAssignmentState>>({});
  const [busy, setBusy] = React.useState<Record<string, string>>({});
  const [error, setError] = React.useState<string | null>(null);
  const [live, setLive] = React.useState(false);

  const patch = (k: string, update: Partial<IAssignmentState>): void =>
    setStates(old => ({ ...old, [k]: { ...EMPTY, ...old[k], ...update } }));

  /** Re-read what the service and the local copy say about one assignment. */
  const refreshAssignment = React.useCallback(async (a: IAssignment): Promise<void> => {
    const api = `api/${base(a)}`;
    const [local, count, submissions] = await Promise.all([
      requestAPI<ILocalStatus>(`${base(a)}/local`),
      requestAPI<ISubmissionCount>(`${api}/submissions/count`),
      requestAPI<ISubmission[]>(`${api}/submissions`)
    ]);
    submissions.sort((x, y) => y.id - x.id);
    patch(key(a.lecture_id, a.id), { local, count, submissions });
  }, []);

  const refreshAll = React.useCallback(async (): Promise<void> => {
    setError(null);
    try {
      const [me, lectureList] = await Promise.all([
        requestAPI<IExtensionInfo>('info'),
        requestAPI<ILecture[]>('api/lectures')
      ]);
      setInfo(me);
      setLectures(lectureList);
      const lists = await Promise.all(
        lectureList.map(l => requestAPI<IAssignment[]>(`api/lectures/${l.id}/assignments`))
      );
      const byLecture: Record<number, IAssignment[]> = {};
      lectureList.forEach((l, i) => (byLecture[l.id] = lists[i]));
      setAssignments(byLecture);
      await Promise.all(lists.flat().map(a => refreshAssignment(a)));
    } catch (e) {
      setError(describe(e));
    }
  }, [refreshAssignment]);

  React.useEffect(() => {
    void refreshAll();
  }, [refreshAll]);

  // live updates: re-fetch the assignment whose submission changed
  const assignmentsRef = React.useRef(assignments);
  assignmentsRef.current = assignments;
  React.useEffect(() => {
    const controller = new AbortController();
    void streamEvents(
      message => {
        if (message.kind === 'resync') {
          void refreshAll();
          return;
        }
        const { lecture_id, assignment_id, submission_id, queue_position } = message.event;
        const a = assignmentsRef.current[lecture_id]?.find(x => x.id === assignment_id);
        // show the new status at once, then the full submission (with score) from the API
        setStates(old => {
          const k = key(lecture_id, assignment_id);
          const state = old[k];
          if (!state) {
            return old;
          }
          const submissions = state.submissions.map(s =>
            s.id === submission_id ? { ...s, ...message.event, queue_position } : s
          );
          return { ...old, [k]: { ...state, submissions } };
        });
        if (a) {
          void refreshAssignment(a).catch(() => undefined);
        }
      },
      setLive,
      controller.signal
    );
    return () => controller.abort();
  }, [refreshAll, refreshAssignment]);

  const run = async (a: IAssignment, action: string, work: () => Promise<void>) => {
    const k = key(a.lecture_id, a.id);
    setBusy(old => ({ ...old, [k]: action }));
    try {
      await work();
    } catch (e) {
      Notification.error(`${a.name}: ${describe(e)}`, { autoClose: false });
    } finally {
      setBusy(old => {
        const next = { ...old };
        delete next[k];
        return next;
      });
      await refreshAssignment(a).catch(() => undefined);
    }
  };

  /** Save the open documents of assignment `a` (when it has a local copy in Jupyter). */
  const saveOpenFiles = async (a: IAssignment) => {
    const local = states[key(a.lecture_id, a.id)]?.local;
    if (local?.lab_path && props.opener.saveFiles) {
      await props.opener.saveFiles(local.lab_path);
    }
  };

  const actions: IAssignmentActions = {
    fetch: a =>
      run(a, 'fetch', async () => {
        const local = await requestAPI<ILocalStatus>(`${base(a)}/fetch`, { method: 'POST' });
        Notification.success(`${a.name} is in ${local.lab_path ?? local.path}`, {
          autoClose: 4000
        });
        if (local.lab_path) {
          props.opener.showFolder(local.lab_path);
        }
      }),
    open: (_a, local) => {
      if (!local.lab_path) {
        Notification.warning(`${local.path} is outside Jupyter's root directory.`);
        return;
      }
      props.opener.showFolder(local.lab_path);
      const notebook = local.files.find(f => f.endsWith('.ipynb'));
      if (notebook) {
        props.opener.openFile(`${local.lab_path}/${notebook}`);
      }
    },
    submit: async (a, local, count) => {
      const left =
        count && count.remaining !== null
          ? `This uses 1 of your ${count.remaining} remaining submissions.`
          : 'You can submit as often as you like.';
      if (local.lab_path && props.opener.saveFiles) {
        // what the student sees in the open notebooks is what gets submitted
        await props.opener.saveFiles(local.lab_path);
      }
      const plan = planSubmission({
        local,
        allowedFiles: a.settings.allowed_files ?? [],
        unsavedPaths: props.opener.unsavedFiles?.() ?? [],
        submissions: states[key(a.lecture_id, a.id)]?.submissions ?? []
      });
      const changed =
        plan.files?.length ?? local.changed_files.length + local.untracked_files.length;
      // without the unsaved-files check, the reminder has to do
      const reminder = props.opener.unsavedFiles
        ? ''
        : ' Save your notebooks first: unsaved edits are not submitted.';
      const included = changed ? `${changed} changed file(s) will be included.` : '';
      const intro = `${left} ${included}${reminder}`;
      const result = await showDialog({
        title: `Submit ${a.name}?`,
        body: <SubmitSummary intro={intro} issues={plan.issues} />,
        buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Submit' })]
      });
      if (!result.button.accept) {
        return;
      }
      await run(a, 'submit', async () => {
        const json = plan.files ? { files: plan.files } : {};
        await requestAPI<ISubmission>(`${base(a)}/submit`, { method: 'POST', json });
        Notification.success(`${a.name} submitted: grading status appears below it.`, {
          autoClose: 4000
        });
      });
    },
    reset: async a => {
      const result = await showDialog({
        title: `Reset ${a.name}?`,
        body: 'Your files are replaced by the released version. Your current work is saved in the assignment\'s history first, so nothing is lost.',
        buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Reset' })]
      });
      if (!result.button.accept) {
        return;
      }
      await run(a, 'reset', async () => {
        await saveOpenFiles(a);
        const local = await requestAPI<ILocalStatus>(`${base(a)}/reset`, { method: 'POST' });
        if (local.lab_path) {
          await props.opener.reloadFiles?.(local.lab_path);
        }
      });
    },
    restore: (a, s) =>
      run(a, 'restore', async () => {
        // edits still only in the browser are work too: on disk, they get saved first
        await saveOpenFiles(a);
        const local = await requestAPI<ILocalStatus>(`${base(a)}/restore`, {
          method: 'POST',
          json: { commit: s.commit_hash }
        });
        if (local.lab_path) {
          await props.opener.reloadFiles?.(local.lab_path);
        }
        const when = new Date(s.submitted_at).toLocaleString();
        const saved = local.saved_commit
          ? ' Your previous work is saved in the history ' +
            `(commit ${local.saved_commit.slice(0, 8)}).`
          : '';
        const reopen = props.opener.reloadFiles
          ? ''
          : ' Reopen open notebooks of this assignment to see them.';
        Notification.success(
          `${a.name}: the files of your submission of ${when} are back.${saved}${reopen}`,
          { autoClose: 8000 }
        );
      }),
    openFeedback: (a, s) =>
      run(a, 'feedback', async () => {
        const feedback = await requestAPI<IFeedback>(
          `${base(a)}/submissions/${s.id}/feedback`,
          { method: 'POST' }
        );
        const html = feedback.files.filter(f => f.endsWith('.html'));
        if (!feedback.lab_path || html.length === 0) {
          throw new GraderError(0, 'No feedback', `No feedback files in ${feedback.path}.`);
        }
        html.forEach(f => props.opener.openFile(`${feedback.lab_path}/${f}`));
      })
  };

  return (
    <div className="jp-grader-panel">
      <div className="jp-grader-toolbar">
        <h2 className="jp-grader-heading">Assignments</h2>
        <span
          className={live ? 'jp-grader-live jp-mod-live' : 'jp-grader-live'}
          title={live ? 'Grading status updates live' : 'Not connected: refresh for news'}
        >
          {live ? 'live' : 'offline'}
        </span>
        <button
          className="jp-grader-icon-button"
          title="Refresh"
          aria-label="Refresh assignments"
          onClick={() => void refreshAll()}
        >
          <refreshIcon.react tag="span" />
        </button>
      </div>
      {error && (
        <div className="jp-grader-error" role="alert">
          {error}
        </div>
      )}
      {lectures === null && !error && <div className="jp-grader-muted">Loading…</div>}
      {lectures?.length === 0 && (
        <div className="jp-grader-muted">You are not in any lecture yet.</div>
      )}
      {lectures?.map(lecture => (
        <details key={lecture.id} className="jp-grader-lecture" open={!lecture.complete}>
          <summary>
            {lecture.name} <span className="jp-grader-muted">({lecture.code})</span>
          </summary>
          {(assignments[lecture.id] ?? []).length === 0 && (
            <div className="jp-grader-muted">No assignments released yet.</div>
          )}
          {(assignments[lecture.id] ?? []).map(a => {
            const state = states[key(lecture.id, a.id)];
            return (
              <AssignmentCard
                key={a.id}
                assignment={a}
                username={info?.username ?? null}
                now={now}
                local={state?.local ?? null}
                count={state?.count ?? null}
                submissions={state?.submissions ?? []}
                busy={busy[key(lecture.id, a.id)] ?? null}
                actions={actions}
              />
            );
          })}
        </details>
      ))}
    </div>
  );
}

/** The sidebar widget. */
export class AssignmentsPanel extends ReactWidget {
  constructor(private readonly opener: IOpener) {
    super();
    this.addClass('jp-grader-AssignmentsPanel');
  }

  protected render(): JSX.Element {
    return <AssignmentsView opener={this.opener} />;
  }
}
