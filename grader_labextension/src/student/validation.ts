/**
 * Checks before a student submits: pure functions (no DOM), unit-tested in
 * `__tests__/student_validation.test.ts`.
 *
 * The service is the authority (its git hook refuses files it does not accept); these
 * checks say so earlier, in words, and let the student submit the rest.
 */
import { ILocalStatus, ISubmission } from '../types';

/**
 * Whether `text` matches the shell pattern `pattern` as in a POSIX `case`: `*` is any
 * string (slashes included), `?` one character, `[...]`/`[!...]` a set.
 */
export function globMatch(pattern: string, text: string): boolean {
  let regex = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') {
      regex += '.*';
    } else if (c === '?') {
      regex += '.';
    } else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close === -1) {
        regex += '\\[';
        continue;
      }
      let set = pattern.slice(i + 1, close);
      if (set.startsWith('!')) {
        set = '^' + set.slice(1);
      }
      regex += `[${set.replace(/\\/g, '\\\\')}]`;
      i = close;
    } else {
      regex += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
    }
  }
  return new RegExp(regex + '$', 's').test(text);
}

/** The service's rule: notebooks, and files matching the assignment's allowed patterns. */
export function isAllowedFile(path: string, allowedFiles: string[]): boolean {
  const name = path.slice(path.lastIndexOf('/') + 1);
  return ['*.ipynb', ...allowedFiles].some(p => globMatch(p, path) || globMatch(p, name));
}

export type IssueKind = 'unsaved' | 'not-allowed' | 'unchanged';

export interface ISubmitIssue {
  kind: IssueKind;
  /** One sentence that says what is wrong and what happens or what to do. */
  message: string;
  files: string[];
}

export interface ISubmitPlan {
  /** What is wrong or worth knowing before submitting. */
  issues: ISubmitIssue[];
  /**
   * The files to send (`files` of `.../submit`), or null for "every change". Set when
   * some new files may not be submitted: they stay on disk, untouched.
   */
  files: string[] | null;
}

export interface ISubmitCheckInput {
  local: ILocalStatus;
  /** The assignment's `settings.allowed_files` (glob patterns). */
  allowedFiles: string[];
  /** Paths (JupyterLab paths) of documents with unsaved edits; empty if unknown. */
  unsavedPaths: string[];
  /** The student's submissions, any order. */
  submissions: ISubmission[];
}

/** What to tell the student before a submission, and which files to send. */
export function planSubmission(input: ISubmitCheckInput): ISubmitPlan {
  const { local, allowedFiles } = input;
  const issues: ISubmitIssue[] = [];
  const prefix = local.lab_path ? `${local.lab_path}/` : null;
  const unsaved = prefix
    ? input.unsavedPaths.filter(p => p.startsWith(prefix)).map(p => p.slice(prefix.length))
    : [];
  if (unsaved.length > 0) {
    issues.push({
      kind: 'unsaved',
      message:
        'These open files have unsaved edits, which would not be submitted. Save them ' +
        '(File → Save All) and submit again.',
      files: unsaved
    });
  }

  // tracked files were released or accepted before; only new files can be refused
  const refused = local.untracked_files.filter(f => !isAllowedFile(f, allowedFiles));
  let files: string[] | null = null;
  if (refused.length > 0) {
    const allowed = ['*.ipynb', ...allowedFiles].join(', ');
    issues.push({
      kind: 'not-allowed',
      message:
        `These files may not be submitted for this assignment (allowed: ${allowed}). ` +
        'They stay in your folder but are left out of the submission.',
      files: refused
    });
    files = [
      ...local.changed_files,
      ...local.untracked_files.filter(f => isAllowedFile(f, allowedFiles))
    ];
  }

  const latest = [...input.submissions].sort(
    (a, b) => Date.parse(b.submitted_at) - Date.parse(a.submitted_at) || b.id - a.id
  )[0];
  const nothingNew =
    local.changed_files.length === 0 &&
    local.untracked_files.every(f => refused.includes(f)) &&
    unsaved.length === 0;
  if (latest && nothingNew && latest.commit_hash === local.commit) {
    issues.push({
      kind: 'unchanged',
      message:
        'Nothing changed since your last submission ' +
        `(${new Date(latest.submitted_at).toLocaleString()}): submitting again sends the ` +
        'same files and uses up a submission.',
      files: []
    });
  }
  return { issues, files };
}
