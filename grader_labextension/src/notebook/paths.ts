/**
 * Which grading directory a notebook lives in, from its JupyterLab path and the lab
 * path of the lectures dir (`info` → lectures_lab_path; "" when the lectures dir is the
 * Jupyter root). The layout is the server extension's:
 *
 *   {lectures}/{code}/source/{assignment id}/...                   instructors' source
 *   {lectures}/{code}/manualgrade/{assignment id}/{submission id}/... manual grading copy
 *   {lectures}/{code}/assignments/{assignment id}/...              the student's copy
 *
 * Pure functions (no JupyterLab imports), unit-tested.
 */

export type NotebookPlace =
  | { kind: 'source'; code: string; assignmentId: number; relative: string }
  | {
      kind: 'manualgrade';
      code: string;
      assignmentId: number;
      submissionId: number;
      relative: string;
    }
  | { kind: 'assignment'; code: string; assignmentId: number; relative: string };

const ID = /^[0-9]+$/;

/** Where `path` is in the lectures dir, or null if it is not in a grading directory. */
export function classifyPath(path: string, lecturesLabPath: string | null): NotebookPlace | null {
  if (lecturesLabPath === null) {
    return null;
  }
  const root = lecturesLabPath.replace(/^\/+|\/+$/g, '');
  const clean = path.replace(/^\/+/, '');
  let rest: string;
  if (root === '') {
    rest = clean;
  } else if (clean.startsWith(root + '/')) {
    rest = clean.slice(root.length + 1);
  } else {
    return null;
  }
  const parts = rest.split('/');
  const [code, area, assignment] = parts;
  if (!code || !assignment || !ID.test(assignment)) {
    return null;
  }
  const assignmentId = Number(assignment);
  if (area === 'source' && parts.length > 3) {
    return { kind: 'source', code, assignmentId, relative: parts.slice(3).join('/') };
  }
  if (area === 'assignments' && parts.length > 3) {
    return { kind: 'assignment', code, assignmentId, relative: parts.slice(3).join('/') };
  }
  if (area === 'manualgrade' && parts.length > 4 && ID.test(parts[3])) {
    return {
      kind: 'manualgrade',
      code,
      assignmentId,
      submissionId: Number(parts[3]),
      relative: parts.slice(4).join('/')
    };
  }
  return null;
}
