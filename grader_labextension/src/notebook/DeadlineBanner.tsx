/**
 * A slim banner above a student's assignment notebook with the assignment's deadline
 * (the student's extension if they have one) and the late period that applies now.
 */
import { ReactWidget } from '@jupyterlab/apputils';
import * as React from 'react';

import { requestAPI } from '../api';
import { deadlineState, effectiveDeadline } from '../deadline';
import { IAssignment } from '../types';
import { FittedReactWidget } from './cells';
import { describeError, lectureIdByCode } from './store';

function DeadlineBanner(props: {
  code: string;
  assignmentId: number;
  username: string | null;
}): JSX.Element | null {
  const [assignment, setAssignment] = React.useState<IAssignment | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [now, setNow] = React.useState(() => new Date());
  React.useEffect(() => {
    let cancelled = false;
    void (async () => {
      try {
        const lectureId = await lectureIdByCode(props.code);
        const found = await requestAPI<IAssignment>(
          `api/lectures/${lectureId}/assignments/${props.assignmentId}`
        );
        if (!cancelled) {
          setAssignment(found);
        }
      } catch (e) {
        if (!cancelled) {
          setError(describeError(e));
        }
      }
    })();
    const timer = setInterval(() => setNow(new Date()), 30000);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [props.code, props.assignmentId]);
  if (error) {
    return (
      <div className="jp-grader-deadline-banner jp-mod-unknown" role="note">
        Deadline unknown: {error}
      </div>
    );
  }
  if (!assignment) {
    return null;
  }
  const state = deadlineState(assignment.settings, now, props.username);
  const deadline = effectiveDeadline(assignment.settings, props.username);
  return (
    <div className={`jp-grader-deadline-banner jp-mod-${state.phase}`} role="note" aria-label="Deadline">
      <strong>{assignment.name}</strong>
      <span>{state.label}</span>
      {deadline && !isNaN(deadline.getTime()) && (
        <span className="jp-grader-deadline-date">
          (deadline {deadline.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })})
        </span>
      )}
    </div>
  );
}

/** The banner widget for the notebook of assignment `assignmentId` of lecture `code`. */
export function deadlineBanner(code: string, assignmentId: number, username: string | null): ReactWidget {
  const widget = new FittedReactWidget(() => (
    <DeadlineBanner code={code} assignmentId={assignmentId} username={username} />
  ));
  widget.addClass('jp-grader-deadline-banner-widget');
  return widget;
}
