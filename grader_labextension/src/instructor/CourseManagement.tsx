/**
 * "Course Management": the main-area view of tutors and instructors. Lectures (active
 * and completed) -> a lecture's assignments -> one assignment with the tabs Overview
 * (source and release), Submissions, Statistics and Settings.
 */
import { ReactWidget } from '@jupyterlab/apputils';
import * as React from 'react';

import { AssignmentForm } from './AssignmentForm';
import { client } from './client';
import {
  chipClass,
  describe,
  formatDate,
  IInstructorOpener,
  STATUS_LABELS,
  StatusLine,
  useAction
} from './common';
import { SourcePanel } from './SourcePanel';
import { fmt } from './stats';
import { StatsTab } from './StatsTab';
import { SubmissionsTab } from './SubmissionsTab';
import { ILecture, IPermission, IStaffAssignment, LectureRole } from './types';

type Tab = 'overview' | 'submissions' | 'statistics' | 'settings';
const TABS: { id: Tab; label: string }[] = [
  { id: 'overview', label: 'Overview' },
  { id: 'submissions', label: 'Submissions' },
  { id: 'statistics', label: 'Statistics' },
  { id: 'settings', label: 'Settings' }
];

type Route =
  | { view: 'lectures' }
  | { view: 'lecture'; lectureId: number; creating?: boolean }
  | { view: 'assignment'; lectureId: number; assignmentId: number; tab: Tab };

/** The role that counts for a lecture (admins without a role act as instructors). */
function roleIn(permissions: IPermission[], lectureId: number): LectureRole | null {
  return permissions.find(p => p.lecture_id === lectureId)?.role ?? null;
}

export function CourseManagementView(props: { opener: IInstructorOpener }): JSX.Element {
  const [permissions, setPermissions] = React.useState<IPermission[] | null>(null);
  const [lectures, setLectures] = React.useState<ILecture[] | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [route, setRoute] = React.useState<Route>({ view: 'lectures' });

  const loadLectures = React.useCallback(async () => {
    setError(null);
    try {
      const [perms, list] = await Promise.all([client.permissions(), client.lectures()]);
      setPermissions(perms);
      setLectures(list);
    } catch (e) {
      setError(describe(e));
    }
  }, []);

  React.useEffect(() => {
    void loadLectures();
  }, [loadLectures]);

  const lecture =
    route.view !== 'lectures' ? lectures?.find(l => l.id === route.lectureId) ?? null : null;
  const role = lecture && permissions ? roleIn(permissions, lecture.id) : null;
  // admins see every lecture without holding a role in it; the service decides what they may do
  const isInstructor = role === 'instructor' || (lecture !== null && role === null);

  return (
    <div className="jp-grader-cm">
      {error && (
        <div className="jp-grader-error" role="alert">
          {error}{' '}
          <button className="jp-grader-button jp-mod-small" onClick={() => void loadLectures()}>
            Retry
          </button>
        </div>
      )}
      {route.view === 'lectures' && (
        <LectureList
          lectures={lectures}
          permissions={permissions ?? []}
          onOpen={id => setRoute({ view: 'lecture', lectureId: id })}
          onRefresh={() => void loadLectures()}
        />
      )}
      {route.view !== 'lectures' && lecture && (
        <nav className="jp-grader-breadcrumbs" aria-label="Breadcrumbs">
          <button className="jp-grader-link" onClick={() => setRoute({ view: 'lectures' })}>
            Lectures
          </button>
          <span aria-hidden="true"> / </span>
          {route.view === 'assignment' ? (
            <button
              className="jp-grader-link"
              onClick={() => setRoute({ view: 'lecture', lectureId: lecture.id })}
            >
              {lecture.name}
            </button>
          ) : (
            <span aria-current="page">{lecture.name}</span>
          )}
        </nav>
      )}
      {route.view === 'lecture' && lecture && (
        <LectureView
          key={lecture.id}
          lecture={lecture}
          isInstructor={isInstructor}
          creating={!!route.creating}
          opener={props.opener}
          onCreating={creating => setRoute({ view: 'lecture', lectureId: lecture.id, creating })}
          onOpen={(assignmentId, tab) =>
            setRoute({ view: 'assignment', lectureId: lecture.id, assignmentId, tab })
          }
          onLectureChanged={updated =>
            setLectures(old => old?.map(l => (l.id === updated.id ? updated : l)) ?? old)
          }
        />
      )}
      {route.view === 'assignment' && lecture && (
        <AssignmentView
          key={route.assignmentId}
          lecture={lecture}
          assignmentId={route.assignmentId}
          tab={route.tab}
          isInstructor={isInstructor}
          opener={props.opener}
          onTab={tab => setRoute({ ...route, tab })}
          onDeleted={() => setRoute({ view: 'lecture', lectureId: lecture.id })}
        />
      )}
    </div>
  );
}

function LectureList(props: {
  lectures: ILecture[] | null;
  permissions: IPermission[];
  onOpen(id: number): void;
  onRefresh(): void;
}): JSX.Element {
  const { lectures } = props;
  const groups: [string, ILecture[]][] = [
    ['Active lectures', (lectures ?? []).filter(l => !l.complete)],
    ['Completed lectures', (lectures ?? []).filter(l => l.complete)]
  ];
  return (
    <div>
      <div className="jp-grader-toolbar">
        <h2 className="jp-grader-cm-title">Course Management</h2>
        <button className="jp-grader-button" onClick={props.onRefresh}>
          Refresh
        </button>
      </div>
      {lectures === null && <p className="jp-grader-muted">Loading…</p>}
      {lectures?.length === 0 && (
        <p className="jp-grader-muted">
          You are not a tutor or instructor in any lecture. Ask the course's instructor or an
          admin for the role.
        </p>
      )}
      {groups.map(([title, list]) =>
        list.length ? (
          <section key={title} aria-label={title}>
            <h3>{title}</h3>
            <ul className="jp-grader-lecture-list">
              {list.map(l => {
                const role = roleIn(props.permissions, l.id);
                return (
                  <li key={l.id} className="jp-grader-lecture-card" data-lecture-id={l.id}>
                    <button className="jp-grader-lecture-open" onClick={() => props.onOpen(l.id)}>
                      {l.name}
                    </button>
                    <span className="jp-grader-muted">
                      {l.code}
                      {role ? ` · ${role}` : ''}
                    </span>
                  </li>
                );
              })}
            </ul>
          </section>
        ) : null
      )}
    </div>
  );
}

interface IAssignmentRow {
  assignment: IStaffAssignment;
  submissions: number | null;
  students: number | null;
}

function LectureView(props: {
  lecture: ILecture;
  isInstructor: boolean;
  creating: boolean;
  opener: IInstructorOpener;
  onCreating(creating: boolean): void;
  onOpen(assignmentId: number, tab: Tab): void;
  onLectureChanged(lecture: ILecture): void;
}): JSX.Element {
  const { lecture } = props;
  const [rows, setRows] = React.useState<IAssignmentRow[] | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [exportFilter, setExportFilter] = React.useState<'best' | 'latest'>('best');
  const action = useAction();

  const load = React.useCallback(async () => {
    setError(null);
    try {
      const list = await client.assignments(lecture.id);
      setRows(list.map(assignment => ({ assignment, submissions: null, students: null })));
      // counts come in one by one; the table is usable before they arrive
      await Promise.all(
        list.map(async assignment => {
          try {
            const subs = await client.submissions(lecture.id, assignment.id, 'none');
            const students = new Set(subs.map(s => s.user_id)).size;
            setRows(old =>
              old?.map(r =>
                r.assignment.id === assignment.id ? { ...r, submissions: subs.length, students } : r
              ) ?? old
            );
          } catch {
            // the count stays "–"
          }
        })
      );
    } catch (e) {
      setError(describe(e));
    }
  }, [lecture.id]);

  React.useEffect(() => {
    void load();
  }, [load]);

  const exportLecture = () =>
    action.run('export', 'Writing the grade sheet…', async () => {
      const r = await client.exportLecture(lecture.id, exportFilter);
      if (r.lab_path) {
        props.opener.openFile(r.lab_path);
      }
      return `Exported ${r.rows} student(s) to ${r.lab_path ?? r.path}.`;
    });

  const setComplete = (complete: boolean) =>
    action.run('complete', complete ? 'Marking the lecture complete…' : 'Reopening the lecture…', async () => {
      props.onLectureChanged(await client.setLectureComplete(lecture.id, complete));
      return complete ? 'The lecture is complete.' : 'The lecture is active again.';
    });

  return (
    <div>
      <div className="jp-grader-toolbar">
        <h2 className="jp-grader-cm-title">
          {lecture.name} <span className="jp-grader-muted">({lecture.code})</span>
        </h2>
        {props.isInstructor && !props.creating && (
          <button className="jp-grader-button jp-mod-accept" onClick={() => props.onCreating(true)}>
            New assignment
          </button>
        )}
        <button className="jp-grader-button" onClick={() => void load()}>
          Refresh
        </button>
      </div>

      {props.creating && (
        <section className="jp-grader-section" aria-labelledby="jp-grader-new-assignment">
          <h3 id="jp-grader-new-assignment">New assignment</h3>
          <AssignmentForm
            lectureId={lecture.id}
            assignment={null}
            readOnly={false}
            onSaved={a => props.onOpen(a.id, 'overview')}
            onCancel={() => props.onCreating(false)}
          />
        </section>
      )}

      {error && (
        <div className="jp-grader-error" role="alert">
          Could not load the assignments: {error}
        </div>
      )}
      <table className="jp-grader-table jp-grader-assignments-table">
        <caption className="jp-grader-sr-only">Assignments of {lecture.name}</caption>
        <thead>
          <tr>
            <th scope="col">Assignment</th>
            <th scope="col">Status</th>
            <th scope="col">Deadline</th>
            <th scope="col">Points</th>
            <th scope="col">Students</th>
            <th scope="col">Submissions</th>
            <th scope="col">Group</th>
          </tr>
        </thead>
        <tbody>
          {rows === null && !error && (
            <tr>
              <td colSpan={7} className="jp-grader-muted">
                Loading…
              </td>
            </tr>
          )}
          {rows?.length === 0 && (
            <tr>
              <td colSpan={7} className="jp-grader-muted">
                No assignments yet{props.isInstructor ? ': create one with "New assignment".' : '.'}
              </td>
            </tr>
          )}
          {rows?.map(({ assignment: a, submissions, students }) => (
            <tr key={a.id} data-assignment-id={a.id}>
              <th scope="row">
                <button className="jp-grader-link" onClick={() => props.onOpen(a.id, 'overview')}>
                  {a.name}
                </button>
              </th>
              <td>
                <span className={chipClass(a.status)}>{STATUS_LABELS[a.status] ?? a.status}</span>
              </td>
              <td>{a.settings.deadline ? formatDate(a.settings.deadline) : 'none'}</td>
              <td className="jp-grader-number">{fmt(a.points)}</td>
              <td className="jp-grader-number">{students ?? '–'}</td>
              <td className="jp-grader-number">
                {submissions === null ? (
                  '–'
                ) : (
                  <button className="jp-grader-link" onClick={() => props.onOpen(a.id, 'submissions')}>
                    {submissions}
                    <span className="jp-grader-sr-only"> submissions of {a.name}</span>
                  </button>
                )}
              </td>
              <td>{a.settings.group ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <section className="jp-grader-section" aria-labelledby="jp-grader-lecture-actions">
        <h3 id="jp-grader-lecture-actions">Lecture</h3>
        <div className="jp-grader-actions">
          <label htmlFor={`jp-grader-lecture-export-${lecture.id}`}>Grade sheet counts</label>
          <select
            id={`jp-grader-lecture-export-${lecture.id}`}
            value={exportFilter}
            onChange={e => setExportFilter(e.target.value as 'best' | 'latest')}
          >
            <option value="best">each student's best submission</option>
            <option value="latest">each student's latest submission</option>
          </select>
          <button className="jp-grader-button" disabled={!!action.running} onClick={() => void exportLecture()}>
            Export lecture CSV
          </button>
          {props.isInstructor && (
            <button
              className="jp-grader-button"
              disabled={!!action.running}
              onClick={() => void setComplete(!lecture.complete)}
            >
              {lecture.complete ? 'Reopen lecture' : 'Mark lecture complete'}
            </button>
          )}
        </div>
        <StatusLine status={action.status} />
      </section>
    </div>
  );
}

function AssignmentView(props: {
  lecture: ILecture;
  assignmentId: number;
  tab: Tab;
  isInstructor: boolean;
  opener: IInstructorOpener;
  onTab(tab: Tab): void;
  onDeleted(): void;
}): JSX.Element {
  const { lecture } = props;
  const [assignment, setAssignment] = React.useState<IStaffAssignment | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const tabRefs = React.useRef<Record<string, HTMLButtonElement | null>>({});
  const deleteAction = useAction();

  React.useEffect(() => {
    client
      .assignment(lecture.id, props.assignmentId)
      .then(setAssignment)
      .catch(e => setError(describe(e)));
  }, [lecture.id, props.assignmentId]);

  if (error) {
    return (
      <div className="jp-grader-error" role="alert">
        {error}
      </div>
    );
  }
  if (!assignment) {
    return <p className="jp-grader-muted">Loading…</p>;
  }

  const onTabKey = (event: React.KeyboardEvent, index: number) => {
    const delta = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
    if (!delta) {
      return;
    }
    const next = TABS[(index + delta + TABS.length) % TABS.length].id;
    props.onTab(next);
    tabRefs.current[next]?.focus();
  };

  const remove = () =>
    deleteAction.run('delete', 'Deleting…', async () => {
      await client.deleteAssignment(lecture.id, assignment.id);
      props.onDeleted();
    });

  const panelId = (tab: Tab) => `jp-grader-tabpanel-${assignment.id}-${tab}`;
  const tabId = (tab: Tab) => `jp-grader-tab-${assignment.id}-${tab}`;
  return (
    <div className="jp-grader-assignment-view" data-assignment-id={assignment.id}>
      <div className="jp-grader-toolbar">
        <h2 className="jp-grader-cm-title">{assignment.name}</h2>
        <span className={chipClass(assignment.status)}>
          {STATUS_LABELS[assignment.status] ?? assignment.status}
        </span>
      </div>
      <div role="tablist" aria-label={`${assignment.name} views`} className="jp-grader-tabs">
        {TABS.map((t, i) => (
          <button
            key={t.id}
            id={tabId(t.id)}
            ref={el => (tabRefs.current[t.id] = el)}
            role="tab"
            aria-selected={props.tab === t.id}
            aria-controls={panelId(t.id)}
            tabIndex={props.tab === t.id ? 0 : -1}
            className={props.tab === t.id ? 'jp-grader-tab jp-mod-active' : 'jp-grader-tab'}
            onClick={() => props.onTab(t.id)}
            onKeyDown={e => onTabKey(e, i)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={panelId(props.tab)} aria-labelledby={tabId(props.tab)} className="jp-grader-tabpanel">
        {props.tab === 'overview' && (
          <SourcePanel
            lectureId={lecture.id}
            assignment={assignment}
            isInstructor={props.isInstructor}
            opener={props.opener}
            onChanged={setAssignment}
          />
        )}
        {props.tab === 'submissions' && (
          <SubmissionsTab
            lectureId={lecture.id}
            assignment={assignment}
            isInstructor={props.isInstructor}
            opener={props.opener}
          />
        )}
        {props.tab === 'statistics' && <StatsTab lectureId={lecture.id} assignment={assignment} />}
        {props.tab === 'settings' && (
          <>
            <AssignmentForm
              lectureId={lecture.id}
              assignment={assignment}
              readOnly={!props.isInstructor}
              onSaved={setAssignment}
            />
            {props.isInstructor && (assignment.status === 'created' || assignment.status === 'pushed') && (
              <section className="jp-grader-section" aria-labelledby={`jp-grader-danger-${assignment.id}`}>
                <h3 id={`jp-grader-danger-${assignment.id}`}>Delete</h3>
                <p className="jp-grader-cm-hint">
                  Only assignments that were never released and have no submissions can be deleted.
                </p>
                <DeleteButton name={assignment.name} onConfirm={() => void remove()} busy={!!deleteAction.running} />
                <StatusLine status={deleteAction.status} />
              </section>
            )}
          </>
        )}
      </div>
    </div>
  );
}

/** Delete in two steps on the page (no modal dialog): "Delete assignment", then confirm. */
function DeleteButton(props: { name: string; busy: boolean; onConfirm(): void }): JSX.Element {
  const [armed, setArmed] = React.useState(false);
  if (!armed) {
    return (
      <button className="jp-grader-button jp-mod-warn" onClick={() => setArmed(true)}>
        Delete assignment
      </button>
    );
  }
  return (
    <div className="jp-grader-actions" role="group" aria-label="Confirm deletion">
      <span>Delete {props.name}?</span>
      <button className="jp-grader-button jp-mod-warn" disabled={props.busy} onClick={props.onConfirm}>
        Yes, delete {props.name}
      </button>
      <button className="jp-grader-button" onClick={() => setArmed(false)}>
        Keep it
      </button>
    </div>
  );
}

/** The main-area content widget. */
export class CourseManagementWidget extends ReactWidget {
  constructor(private readonly opener: IInstructorOpener) {
    super();
    this.addClass('jp-grader-CourseManagement');
  }

  protected render(): JSX.Element {
    return <CourseManagementView opener={this.opener} />;
  }
}
