/**
 * The assignment's "Overview" tab: its status and deadline, the instructors' source
 * repository (pull, open, commit and push), the release preview and release, and the
 * lifecycle changes the service allows (complete, reopen).
 */
import * as React from 'react';

import { client } from './client';
import { describe, formatDate, IInstructorOpener, STATUS_LABELS, StatusLine, useAction, chipClass } from './common';
import { fmt } from './stats';
import { IReleasePreview, ISourceStatus, IStaffAssignment } from './types';

export interface ISourcePanelProps {
  lectureId: number;
  assignment: IStaffAssignment;
  isInstructor: boolean;
  opener: IInstructorOpener;
  onChanged(assignment: IStaffAssignment): void;
}

const short = (sha: string | null | undefined): string => (sha ? sha.slice(0, 8) : '–');

export function SourcePanel(props: ISourcePanelProps): JSX.Element {
  const { lectureId, assignment: a } = props;
  const [source, setSource] = React.useState<ISourceStatus | null>(null);
  const [sourceError, setSourceError] = React.useState<string | null>(null);
  const [message, setMessage] = React.useState('');
  const [selected, setSelected] = React.useState<Record<string, boolean>>({});
  const [preview, setPreview] = React.useState<IReleasePreview | null>(null);
  const sourceAction = useAction();
  const releaseAction = useAction();

  const loadSource = React.useCallback(async () => {
    try {
      setSource(await client.source(lectureId, a.id));
      setSourceError(null);
    } catch (e) {
      setSourceError(describe(e));
    }
  }, [lectureId, a.id]);

  React.useEffect(() => {
    setPreview(null);
    void loadSource();
  }, [loadSource]);

  const pending = source ? [...source.changed_files, ...source.untracked_files] : [];
  const chosen = pending.filter(f => selected[f]);

  const pull = () =>
    sourceAction.run('pull', 'Pulling the source repository…', async () => {
      const s = await client.pullSource(lectureId, a.id);
      setSource(s);
      setSourceError(null);
      const where = s.lab_path ?? s.path;
      return s.commit
        ? `Source is at ${short(s.commit)} in ${where}.`
        : `The source repository is empty: put the notebooks into ${where}, then push.`;
    });

  const openFolder = () => {
    if (source?.lab_path) {
      props.opener.showFolder(source.lab_path);
    } else {
      sourceAction.setStatus({
        kind: 'error',
        text: source
          ? `${source.path} is outside Jupyter's root directory: open it from a terminal.`
          : 'Pull the source first.'
      });
    }
  };

  const push = () =>
    sourceAction.run('push', 'Committing and pushing the source…', async () => {
      const result = await client.pushSource(
        lectureId,
        a.id,
        message.trim() || 'Update assignment source',
        chosen.length ? chosen : null
      );
      setSource(result);
      setMessage('');
      setSelected({});
      setPreview(null);
      // pushing moves a new assignment from "created" to "pushed"
      props.onChanged(await client.assignment(lectureId, a.id));
      return `Pushed commit ${short(result.commit)}.`;
    });

  const doPreview = () =>
    releaseAction.run('preview', 'Generating the student version…', async () => {
      const p = await client.previewRelease(lectureId, a.id);
      setPreview(p);
      return `The release would publish ${p.files.length} file(s) worth ${fmt(p.points)} points.`;
    });

  const release = () =>
    releaseAction.run('release', 'Releasing to students…', async () => {
      const r = await client.release(lectureId, a.id);
      setPreview(null);
      props.onChanged(r.assignment);
      return `Released ${r.tag} (${short(r.release_commit)}): students can fetch ${a.name} now.`;
    });

  const setStatus = (status: 'complete' | 'released', text: string) =>
    releaseAction.run(status, text, async () => {
      const updated = await client.updateAssignment(lectureId, a.id, { status });
      props.onChanged(updated);
      return status === 'complete'
        ? 'Marked complete: students can no longer submit.'
        : 'Reopened: students can submit again (within the deadline rules).';
    });

  const s = a.settings;
  return (
    <div className="jp-grader-overview">
      <section className="jp-grader-section" aria-labelledby={`jp-grader-facts-${a.id}`}>
        <h3 id={`jp-grader-facts-${a.id}`}>Assignment</h3>
        <dl className="jp-grader-facts">
          <dt>Status</dt>
          <dd>
            <span className={chipClass(a.status)}>{STATUS_LABELS[a.status] ?? a.status}</span>
          </dd>
          <dt>Deadline</dt>
          <dd>{s.deadline ? formatDate(s.deadline) : 'none'}</dd>
          <dt>Late periods</dt>
          <dd>
            {s.late_submission.length
              ? s.late_submission.map(p => `${p.period} × ${p.scaling}`).join(', ')
              : 'none'}
          </dd>
          <dt>Points</dt>
          <dd>{fmt(a.points)}</dd>
          <dt>Submissions allowed</dt>
          <dd>{s.max_submissions ?? 'unlimited'}</dd>
          <dt>Grading</dt>
          <dd>{s.autograde_type}</dd>
        </dl>
      </section>

      <section className="jp-grader-section" aria-labelledby={`jp-grader-source-${a.id}`}>
        <h3 id={`jp-grader-source-${a.id}`}>Source</h3>
        {sourceError && (
          <div className="jp-grader-error" role="alert">
            {sourceError}
          </div>
        )}
        {!source && !sourceError && <p className="jp-grader-muted">Reading the source status…</p>}
        {source && (
          <dl className="jp-grader-facts">
            <dt>Local copy</dt>
            <dd>{source.fetched ? source.lab_path ?? source.path : 'not pulled yet'}</dd>
            <dt>Local commit</dt>
            <dd>{short(source.commit)}</dd>
            <dt>Service commit</dt>
            <dd>
              {short(source.remote_commit)}
              {source.fetched && source.remote_commit && source.commit !== source.remote_commit && (
                <span className="jp-grader-chip jp-grader-chip-busy"> differs: pull or push</span>
              )}
            </dd>
            <dt>Files</dt>
            <dd>{source.files.length ? source.files.join(', ') : 'none'}</dd>
          </dl>
        )}
        <div className="jp-grader-actions">
          <button
            className="jp-grader-button"
            disabled={!!sourceAction.running}
            onClick={() => void pull()}
          >
            Pull source
          </button>
          <button
            className="jp-grader-button"
            disabled={!source?.fetched}
            onClick={openFolder}
          >
            Open in file browser
          </button>
        </div>
        {source?.fetched && props.isInstructor && (
          <div className="jp-grader-push">
            {pending.length > 0 ? (
              <fieldset>
                <legend>
                  Changed files ({pending.length}); tick some to push only those, or none for all
                </legend>
                {pending.map(f => (
                  <label key={f} className="jp-grader-check">
                    <input
                      type="checkbox"
                      checked={!!selected[f]}
                      onChange={e => setSelected(old => ({ ...old, [f]: e.target.checked }))}
                    />
                    {f}
                    {source.untracked_files.includes(f) ? ' (new)' : ''}
                  </label>
                ))}
              </fieldset>
            ) : (
              <p className="jp-grader-muted">No local changes: edit the notebooks, save, then push.</p>
            )}
            <div className="jp-grader-cm-field">
              <label htmlFor={`jp-grader-message-${a.id}`}>Commit message</label>
              <input
                id={`jp-grader-message-${a.id}`}
                type="text"
                value={message}
                placeholder="Update assignment source"
                onChange={e => setMessage(e.target.value)}
              />
            </div>
            <div className="jp-grader-actions">
              <button
                className="jp-grader-button jp-mod-accept"
                disabled={!!sourceAction.running || pending.length === 0}
                onClick={() => void push()}
              >
                Push source
              </button>
              <button
                className="jp-grader-button"
                disabled={!!sourceAction.running}
                onClick={() => void loadSource()}
              >
                Refresh source status
              </button>
            </div>
          </div>
        )}
        <StatusLine status={sourceAction.status} />
      </section>

      <section className="jp-grader-section" aria-labelledby={`jp-grader-release-${a.id}`}>
        <h3 id={`jp-grader-release-${a.id}`}>Release</h3>
        <p className="jp-grader-cm-hint">
          The release generates the student version (solutions and hidden tests removed) and the
          gradebook from the newest pushed source. Preview it first.
        </p>
        <div className="jp-grader-actions">
          <button
            className="jp-grader-button"
            disabled={!!releaseAction.running}
            onClick={() => void doPreview()}
          >
            Preview release
          </button>
          {props.isInstructor && (a.status === 'created' || a.status === 'pushed' || a.status === 'released') && (
            <button
              className="jp-grader-button jp-mod-accept"
              disabled={!!releaseAction.running || !preview}
              title={preview ? undefined : 'Preview the release first'}
              onClick={() => void release()}
            >
              {a.status === 'released' ? 'Release again' : 'Release'}
            </button>
          )}
          {props.isInstructor && a.status === 'released' && (
            <button
              className="jp-grader-button"
              disabled={!!releaseAction.running}
              onClick={() => void setStatus('complete', 'Marking complete…')}
            >
              Mark complete
            </button>
          )}
          {props.isInstructor && a.status === 'complete' && (
            <button
              className="jp-grader-button"
              disabled={!!releaseAction.running}
              onClick={() => void setStatus('released', 'Reopening…')}
            >
              Reopen
            </button>
          )}
        </div>
        {preview && (
          <div className="jp-grader-preview" aria-label="Release preview">
            <table className="jp-grader-table">
              <caption>
                Student version of source commit {short(preview.source_commit)}: {fmt(preview.points)}{' '}
                points
              </caption>
              <thead>
                <tr>
                  <th scope="col">Notebook</th>
                  <th scope="col">Points</th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(preview.notebooks).map(([nb, points]) => (
                  <tr key={nb}>
                    <th scope="row">{nb}</th>
                    <td>{fmt(points)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <div className="jp-grader-subgroup-title">Files</div>
            <ul className="jp-grader-file-list">
              {preview.files.map(f => (
                <li key={f}>{f}</li>
              ))}
            </ul>
          </div>
        )}
        <StatusLine status={releaseAction.status} />
      </section>
    </div>
  );
}
