/**
 * The assignment's "Statistics" tab: score distribution of each student's latest
 * submission, submissions per day, grading progress, and which test cells fail most
 * (from the gradebooks of the latest submissions).
 */
import * as React from 'react';

import { client } from './client';
import { BarChart, ShareBars, StackedBars, ISegment } from './charts';
import { describe } from './common';
import {
  cellStats,
  fmt,
  gradingProgress,
  histogram,
  ICellStat,
  IStatusCount,
  submissionsPerDay,
  summary
} from './stats';
import { AUTO_LABELS, FEEDBACK_LABELS, MANUAL_LABELS } from './table';
import { IGradebook, IStaffAssignment, IStaffSubmission } from './types';

export interface IStatsTabProps {
  lectureId: number;
  assignment: IStaffAssignment;
}

/** Gradebooks are one request each: read at most this many (the newest latest submissions). */
const MAX_GRADEBOOKS = 200;

const TONES: Record<string, ISegment['tone']> = {
  automatically_graded: 'ok',
  manually_graded: 'ok',
  generated: 'ok',
  pending: 'busy',
  being_edited: 'busy',
  generating: 'busy',
  feedback_outdated: 'busy',
  not_graded: 'todo',
  not_generated: 'todo',
  grading_failed: 'error',
  generation_failed: 'error'
};

function segments(counts: IStatusCount[], labels: Record<string, string>): ISegment[] {
  return counts
    .filter(c => c.count > 0)
    .map(c => ({ label: labels[c.status] ?? c.status, value: c.count, tone: TONES[c.status] ?? 'todo' }));
}

export function StatsTab(props: IStatsTabProps): JSX.Element {
  const { lectureId, assignment: a } = props;
  const [all, setAll] = React.useState<IStaffSubmission[] | null>(null);
  const [latest, setLatest] = React.useState<IStaffSubmission[] | null>(null);
  const [cells, setCells] = React.useState<ICellStat[] | null>(null);
  const [gradebookNote, setGradebookNote] = React.useState('');
  const [error, setError] = React.useState<string | null>(null);
  const [progress, setProgress] = React.useState('Loading submissions…');

  const load = React.useCallback(async () => {
    setError(null);
    setProgress('Loading submissions…');
    try {
      const [everything, newest] = await Promise.all([
        client.submissions(lectureId, a.id, 'none'),
        client.submissions(lectureId, a.id, 'latest')
      ]);
      setAll(everything);
      setLatest(newest);
      const graded = newest
        .filter(s => s.auto_status === 'automatically_graded')
        .sort((x, y) => Date.parse(y.submitted_at) - Date.parse(x.submitted_at))
        .slice(0, MAX_GRADEBOOKS);
      const books: IGradebook[] = [];
      let done = 0;
      let next = 0;
      const worker = async () => {
        while (next < graded.length) {
          const s = graded[next++];
          try {
            books.push(await client.gradebook(lectureId, a.id, s.id));
          } catch {
            // a submission without a gradebook (e.g. graded before an upgrade) is left out
          }
          done++;
          setProgress(`Reading gradebooks: ${done} of ${graded.length}…`);
        }
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
      setCells(cellStats(books));
      const autogradedCount = newest.filter(s => s.auto_status === 'automatically_graded').length;
      setGradebookNote(
        `From ${books.length} gradebook(s) of the latest autograded submissions` +
          (autogradedCount > MAX_GRADEBOOKS ? ` (the newest ${MAX_GRADEBOOKS} of ${autogradedCount})` : '') +
          '.'
      );
      setProgress('');
    } catch (e) {
      setError(describe(e));
      setProgress('');
    }
  }, [lectureId, a.id]);

  React.useEffect(() => {
    void load();
  }, [load]);

  const scores = (latest ?? []).filter(s => s.score !== null).map(s => s.score as number);
  const sum = summary(scores);
  const bins = histogram(scores, a.points, 10);
  const days = submissionsPerDay(all ?? []);
  const prog = gradingProgress(all ?? []);

  return (
    <div className="jp-grader-stats">
      <div className="jp-grader-actions">
        <button className="jp-grader-button" onClick={() => void load()} disabled={!!progress}>
          Refresh statistics
        </button>
        <span role="status" aria-live="polite" className="jp-grader-muted">
          {progress}
        </span>
      </div>
      {error && (
        <div className="jp-grader-error" role="alert">
          Could not compute the statistics: {error}
        </div>
      )}
      {all && latest && (
        <>
          <dl className="jp-grader-facts jp-grader-stat-summary">
            <dt>Students with a submission</dt>
            <dd>{latest.length}</dd>
            <dt>Submissions</dt>
            <dd>{all.length}</dd>
            <dt>Mean score (latest)</dt>
            <dd>
              {fmt(sum.mean)} / {fmt(a.points)}
            </dd>
            <dt>Median score (latest)</dt>
            <dd>{fmt(sum.median)}</dd>
          </dl>
          <div className="jp-grader-chart-grid-layout">
            <BarChart
              title="Score distribution (latest submission per student)"
              description={
                scores.length
                  ? `${scores.length} scored students. ` +
                    bins.filter(b => b.count).map(b => `${b.count} between ${b.from} and ${b.to} points`).join(', ') +
                    `. Mean ${fmt(sum.mean)}, median ${fmt(sum.median)}.`
                  : 'No scored submissions yet.'
              }
              bars={bins.map(b => ({ label: `${fmt(b.from, 1)}–${fmt(b.to, 1)}`, value: b.count }))}
              xLabel="Points"
              yLabel="Students"
            />
            <BarChart
              title="Submissions per day"
              description={
                days.length
                  ? `${all.length} submissions from ${days[0].day} to ${days[days.length - 1].day}; ` +
                    `most on ${[...days].sort((x, y) => y.count - x.count)[0].day}.`
                  : 'No submissions yet.'
              }
              bars={days.map(d => ({ label: d.day.slice(5), value: d.count, detail: d.day }))}
              xLabel="Day"
              yLabel="Submissions"
            />
            <StackedBars
              title="Grading progress (all submissions)"
              description={
                `${prog.total} submissions. ` +
                [
                  ['Autograde', prog.auto, AUTO_LABELS],
                  ['Manual grading', prog.manual, MANUAL_LABELS],
                  ['Feedback', prog.feedback, FEEDBACK_LABELS]
                ]
                  .map(
                    ([label, counts, labels]) =>
                      `${label}: ` +
                      (counts as IStatusCount[])
                        .filter(c => c.count)
                        .map(c => `${c.count} ${(labels as Record<string, string>)[c.status]}`)
                        .join(', ')
                  )
                  .join('. ')
              }
              rows={[
                { label: 'Autograde', segments: segments(prog.auto, AUTO_LABELS) },
                { label: 'Manual grading', segments: segments(prog.manual, MANUAL_LABELS) },
                { label: 'Feedback', segments: segments(prog.feedback, FEEDBACK_LABELS) }
              ]}
            />
            {cells && (
              <div>
                {cells.length ? (
                  <ShareBars
                    title="Failure rate per graded cell"
                    description={
                      `${gradebookNote} ` +
                      cells
                        .slice(0, 5)
                        .map(c => `${c.notebook} ${c.cell}: ${Math.round(c.failureRate * 100)}% failed`)
                        .join('; ')
                    }
                    items={cells.map(c => ({
                      label: `${c.notebook}: ${c.cell}`,
                      share: c.failureRate,
                      detail: `${c.failed} of ${c.graded} failed, mean ${fmt(c.meanScore)} of ${fmt(c.maxScore)} points`
                    }))}
                    valueLabel="Failed"
                  />
                ) : (
                  <p className="jp-grader-muted">No autograded gradebooks yet: failure rates appear after autograding.</p>
                )}
                <p className="jp-grader-cm-hint">{gradebookNote}</p>
              </div>
            )}
          </div>
        </>
      )}
    </div>
  );
}
