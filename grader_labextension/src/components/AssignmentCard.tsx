/**
 * One assignment: deadline and late rules, remaining submissions, the local copy's
 * state, the actions (fetch, open, submit, reset) and the submission history with live
 * grading status and "Restore".
 */
import * as React from 'react';

import { deadlineState } from '../deadline';
import { LateRulesTable } from '../student/LateRules';
import {
  IAssignment,
  ILocalStatus,
  ISubmission,
  ISubmissionCount
} from '../types';

export interface IAssignmentActions {
  fetch(assignment: IAssignment): Promise<void>;
  open(assignment: IAssignment, local: ILocalStatus): void;
  submit(assignment: IAssignment, local: ILocalStatus, count: ISubmissionCount | null): Promise<void>;
  reset(assignment: IAssignment): Promise<void>;
  openFeedback(assignment: IAssignment, submission: ISubmission): Promise<void>;
  /** Put the files of `submission` back (the current work is saved first). */
  restore(assignment: IAssignment, submission: ISubmission): Promise<void>;
}

export interface IAssignmentCardProps {
  assignment: IAssignment;
  username: string | null;
  now: Date;
  local: ILocalStatus | null;
  count: ISubmissionCount | null;
  submissions: ISubmission[];
  /** The action running on this assignment, if any ("fetch", "submit", ...). */
  busy: string | null;
  actions: IAssignmentActions;
}

/** The commit of a submission staff created without files. */
const ZERO = '0'.repeat(40);

const AUTO_STATUS: Record<string, string> = {
  not_graded: 'Not graded',
  pending: 'Grading…',
  automatically_graded: 'Graded',
  grading_failed: 'Grading failed'
};

const FEEDBACK_STATUS: Record<string, string> = {
  not_generated: '',
  generating: 'Feedback being generated…',
  generated: 'Feedback available',
  generation_failed: 'Feedback failed',
  feedback_outdated: 'Feedback outdated'
};

/** The status chip of one submission: queue position while waiting, then the result. */
export function statusText(submission: ISubmission): string {
  if (submission.auto_status === 'pending') {
    if (submission.queue_position !== null && submission.queue_position > 0) {
      return `Queued (${submission.queue_position} ahead)`;
    }
    return submission.queue_position === 0 ? 'Grading…' : 'Queued';
  }
  return AUTO_STATUS[submission.auto_status] ?? submission.auto_status;
}

function statusClass(submission: ISubmission): string {
  switch (submission.auto_status) {
    case 'automatically_graded':
      return 'jp-grader-chip jp-grader-chip-ok';
    case 'grading_failed':
      return 'jp-grader-chip jp-grader-chip-error';
    case 'pending':
      return 'jp-grader-chip jp-grader-chip-busy';
    default:
      return 'jp-grader-chip';
  }
}

function SubmissionRow(props: {
  submission: ISubmission;
  busy: boolean;
  /** Whether the files are here to be replaced (restore needs a fetched copy). */
  canRestore: boolean;
  /** Whether the local files are this submission's already. */
  isCurrent: boolean;
  onFeedback: () => void;
  onRestore: () => void;
}): JSX.Element {
  const { submission } = props;
  const [confirming, setConfirming] = React.useState(false);
  const feedback = FEEDBACK_STATUS[submission.feedback_status] ?? '';
  const when = new Date(submission.submitted_at).toLocaleString();
  return (
    <li className="jp-grader-submission" data-submission-id={submission.id}>
      <span className="jp-grader-submission-time" title={`Commit ${submission.commit_hash}`}>
        {when}
      </span>
      <span className={statusClass(submission)} aria-live="polite">
        {statusText(submission)}
      </span>
      {submission.score !== null && (
        <span className="jp-grader-score">{submission.score} pts</span>
      )}
      {submission.feedback_status === 'generated' ? (
        <button
          className="jp-grader-link"
          disabled={props.busy}
          onClick={props.onFeedback}
          title="Download the feedback and open it"
        >
          Open feedback
        </button>
      ) : (
        feedback && <span className="jp-grader-muted">{feedback}</span>
      )}
      {props.canRestore && !confirming && (
        <button
          className="jp-grader-link"
          disabled={props.busy || props.isCurrent}
          title={
            props.isCurrent
              ? 'Your files are this submission\'s already'
              : 'Put the files of this submission back into your folder'
          }
          aria-label={`Restore the submission of ${when}`}
          onClick={() => setConfirming(true)}
        >
          Restore
        </button>
      )}
      {confirming && (
        <div
          className="jp-grader-confirm"
          role="group"
          aria-label={`Confirm restoring the submission of ${when}`}
        >
          <p>
            Replace your files with the ones you submitted on {when}? Your current work is
            committed and saved in the assignment's history first, so nothing is lost.
            Files you never submitted (e.g. scratch files) are left as they are.
          </p>
          <button
            className="jp-Button jp-mod-styled jp-mod-warn"
            disabled={props.busy}
            onClick={() => {
              setConfirming(false);
              props.onRestore();
            }}
          >
            Restore these files
          </button>
          <button
            className="jp-Button jp-mod-styled jp-mod-reject"
            onClick={() => setConfirming(false)}
            autoFocus
          >
            Cancel
          </button>
        </div>
      )}
    </li>
  );
}

export function AssignmentCard(props: IAssignmentCardProps): JSX.Element {
  const { assignment, local, count, submissions, busy, actions } = props;
  const deadline = deadlineState(assignment.settings, props.now, props.username);
  const closed = deadline.phase === 'closed';
  const noneLeft = count !== null && count.remaining !== null && count.remaining <= 0;
  const fetched = local?.fetched ?? false;
  const changed = local?.changed_files.length ?? 0;

  let remaining = 'Unlimited submissions';
  if (count && count.allowed !== null) {
    remaining = `${count.remaining ?? 0} of ${count.allowed} submissions left`;
  }

  return (
    <div className="jp-grader-card" data-assignment-id={assignment.id}>
      <div className="jp-grader-card-header">
        <span className="jp-grader-card-title">{assignment.name}</span>
        <span className="jp-grader-muted">{assignment.points} pts</span>
      </div>
      <div className={`jp-grader-deadline jp-grader-deadline-${deadline.phase}`}>
        {deadline.label}
        {deadline.endsAt && (
          <span className="jp-grader-muted"> ({deadline.endsAt.toLocaleString()})</span>
        )}
      </div>
      <LateRulesTable
        settings={assignment.settings}
        now={props.now}
        username={props.username}
      />
      <div className="jp-grader-muted">{remaining}</div>
      {fetched && changed > 0 && (
        <div className="jp-grader-muted">
          {changed} changed {changed === 1 ? 'file' : 'files'} not submitted
        </div>
      )}
      <div className="jp-grader-actions">
        {!fetched ? (
          <button
            className="jp-Button jp-mod-styled jp-mod-accept"
            disabled={busy !== null}
            onClick={() => actions.fetch(assignment)}
          >
            {busy === 'fetch' ? 'Fetching…' : 'Fetch'}
          </button>
        ) : (
          <>
            <button
              className="jp-Button jp-mod-styled jp-mod-reject"
              disabled={busy !== null}
              onClick={() => local && actions.open(assignment, local)}
            >
              Open
            </button>
            <button
              className="jp-Button jp-mod-styled jp-mod-accept"
              disabled={busy !== null || closed || noneLeft}
              title={
                closed
                  ? 'The deadline is over'
                  : noneLeft
                    ? 'You have no submissions left'
                    : 'Submit your work for grading'
              }
              onClick={() => local && actions.submit(assignment, local, count)}
            >
              {busy === 'submit' ? 'Submitting…' : 'Submit'}
            </button>
            <button
              className="jp-Button jp-mod-styled jp-mod-reject"
              disabled={busy !== null}
              title="Update from the server (refused while you have unsubmitted changes)"
              onClick={() => actions.fetch(assignment)}
            >
              {busy === 'fetch' ? 'Updating…' : 'Update'}
            </button>
            <button
              className="jp-Button jp-mod-styled jp-mod-warn"
              disabled={busy !== null}
              title="Put back the released files; your work stays in the history"
              onClick={() => actions.reset(assignment)}
            >
              {busy === 'reset' ? 'Resetting…' : 'Reset'}
            </button>
          </>
        )}
      </div>
      {busy === 'restore' && (
        <div className="jp-grader-muted" role="status">
          Restoring: saving your current work, then putting the submission's files back…
        </div>
      )}
      {submissions.length > 0 && (
        <ul className="jp-grader-submissions" aria-label={`Submissions of ${assignment.name}`}>
          {submissions.map(s => (
            <SubmissionRow
              key={s.id}
              submission={s}
              busy={busy !== null}
              canRestore={fetched && s.commit_hash !== ZERO}
              isCurrent={local?.commit === s.commit_hash && changed === 0}
              onFeedback={() => actions.openFeedback(assignment, s)}
              onRestore={() => actions.restore(assignment, s)}
            />
          ))}
        </ul>
      )}
    </div>
  );
}
