/**
 * Small building blocks shared by the course management views: error text, a labelled
 * field with its message, a live status line, and running an action with progress.
 */
import * as React from 'react';

import { GraderError } from '../api';

/** What the views need from JupyterLab. */
export interface IInstructorOpener {
  /** Open a file (JupyterLab path) in the main area. */
  openFile(path: string): void;
  /** Show a folder (JupyterLab path) in the file browser. */
  showFolder(path: string): void;
}

export function describe(error: unknown): string {
  return error instanceof GraderError ? error.message : String(error);
}

let nextId = 0;
/** A document-unique id for label/aria wiring. */
export function useId(prefix: string): string {
  const ref = React.useRef<string>();
  if (!ref.current) {
    ref.current = `jp-grader-${prefix}-${++nextId}`;
  }
  return ref.current;
}

/**
 * A labelled input with its hint and error underneath; the control gets the id, the
 * `aria-invalid` and `aria-describedby` wiring through the render function.
 */
export function Field(props: {
  label: string;
  error?: string;
  hint?: string;
  className?: string;
  children: (control: {
    id: string;
    'aria-invalid': boolean;
    'aria-describedby': string | undefined;
  }) => React.ReactNode;
}): JSX.Element {
  const id = useId('field');
  const described = [props.hint ? `${id}-hint` : '', props.error ? `${id}-error` : '']
    .filter(Boolean)
    .join(' ');
  return (
    <div className={`jp-grader-cm-field ${props.className ?? ''}`}>
      <label htmlFor={id}>{props.label}</label>
      {props.children({
        id,
        'aria-invalid': !!props.error,
        'aria-describedby': described || undefined
      })}
      {props.hint && (
        <div id={`${id}-hint`} className="jp-grader-cm-hint">
          {props.hint}
        </div>
      )}
      {props.error && (
        <div id={`${id}-error`} className="jp-grader-cm-field-error">
          {props.error}
        </div>
      )}
    </div>
  );
}

export interface IStatus {
  kind: 'busy' | 'ok' | 'error';
  text: string;
}

/** The polite live region under a group of actions (progress, results, errors). */
export function StatusLine(props: { status: IStatus | null }): JSX.Element {
  const s = props.status;
  return (
    <div
      className={`jp-grader-status ${s ? `jp-grader-status-${s.kind}` : ''}`}
      role="status"
      aria-live="polite"
    >
      {s?.text ?? ''}
    </div>
  );
}

/**
 * Run one action at a time with progress shown in a StatusLine: returns the status, the
 * running action's name and `run(name, busyText, work)`, where `work` returns the success
 * text (or nothing).
 */
export function useAction(): {
  status: IStatus | null;
  running: string | null;
  setStatus: (s: IStatus | null) => void;
  run: (name: string, busyText: string, work: () => Promise<string | void>) => Promise<boolean>;
} {
  const [status, setStatus] = React.useState<IStatus | null>(null);
  const [running, setRunning] = React.useState<string | null>(null);
  const mounted = React.useRef(true);
  React.useEffect(
    () => () => {
      mounted.current = false;
    },
    []
  );
  const run = React.useCallback(
    async (name: string, busyText: string, work: () => Promise<string | void>) => {
      setRunning(name);
      setStatus({ kind: 'busy', text: busyText });
      try {
        const text = await work();
        if (mounted.current) {
          setStatus(text ? { kind: 'ok', text } : null);
        }
        return true;
      } catch (e) {
        if (mounted.current) {
          setStatus({ kind: 'error', text: describe(e) });
        }
        return false;
      } finally {
        if (mounted.current) {
          setRunning(null);
        }
      }
    },
    []
  );
  return { status, running, setStatus, run };
}

/** "2 Dec 2026, 14:05" in the browser's locale, or "–". */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) {
    return '–';
  }
  const d = new Date(iso);
  return isNaN(d.getTime())
    ? iso
    : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export const STATUS_LABELS: Record<string, string> = {
  created: 'Created',
  pushed: 'Pushed',
  released: 'Released',
  complete: 'Complete'
};

/** The chip class of a status value (ok / error / busy / neutral). */
export function chipClass(status: string): string {
  if (/failed/.test(status)) {
    return 'jp-grader-chip jp-grader-chip-error';
  }
  if (/pending|generating|being_edited|outdated/.test(status)) {
    return 'jp-grader-chip jp-grader-chip-busy';
  }
  if (/graded$|generated$|released|complete/.test(status) && !/not_/.test(status)) {
    return 'jp-grader-chip jp-grader-chip-ok';
  }
  return 'jp-grader-chip';
}
