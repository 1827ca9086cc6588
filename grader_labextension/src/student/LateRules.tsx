/**
 * The late-submission rules of an assignment: period, until when, score factor.
 */
import * as React from 'react';

import { lateRules } from '../deadline';
import { IAssignmentSettings } from '../types';

export function LateRulesTable(props: {
  settings: IAssignmentSettings;
  now: Date;
  username: string | null;
}): JSX.Element | null {
  const rows = lateRules(props.settings, props.now, props.username);
  if (rows.length === 0) {
    return null;
  }
  return (
    <details className="jp-grader-late-rules">
      <summary>Late submission rules</summary>
      <table>
        <caption className="jp-grader-muted">
          A submission's score is multiplied by the factor of the period it falls in.
        </caption>
        <thead>
          <tr>
            <th scope="col">Submitted</th>
            <th scope="col">Until</th>
            <th scope="col">Score</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(row => (
            <tr
              key={row.period}
              className={row.current ? 'jp-grader-late-current' : undefined}
              aria-current={row.current ? 'true' : undefined}
            >
              <th scope="row">
                {row.period}
                {row.current && <span className="jp-grader-muted"> (now)</span>}
              </th>
              <td>{row.until ? row.until.toLocaleString() : '–'}</td>
              <td>{row.scaling > 0 ? `${Math.round(row.scaling * 100)}%` : 'not accepted'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}
