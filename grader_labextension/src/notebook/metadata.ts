/**
 * The grading metadata of a cell, as the service's converter reads it
 * (grader_service/convert/metadata.py): nbgrader's `metadata.nbgrader`, schema v3, so
 * notebooks authored here also work with nbgrader and Grader Service 0.12.
 *
 * The hint for students is kept in `metadata.hint`, outside `nbgrader`: the converter
 * drops unknown `nbgrader` keys on release, but copies the rest of the cell metadata
 * into the student version (Grader Service 0.12 keeps its hints there too).
 *
 * Pure functions (no JupyterLab imports), unit-tested.
 */

export const SCHEMA_VERSION = 3;

/** `metadata.nbgrader` of a cell (v3 keys; older notebooks may miss some). */
export interface INbgraderMetadata {
  schema_version?: number;
  grade?: boolean;
  solution?: boolean;
  locked?: boolean;
  task?: boolean;
  points?: number;
  grade_id?: string;
  checksum?: string;
  cell_type?: string;
}

/** What the instructor picks in the "Cell type" select. */
export type CellKind =
  | 'none'
  | 'readonly'
  | 'autograded-answer'
  | 'autograded-tests'
  | 'manual-answer'
  | 'manual-task';

export const CELL_KINDS: CellKind[] = [
  'none',
  'readonly',
  'autograded-answer',
  'autograded-tests',
  'manual-answer',
  'manual-task'
];

export const KIND_LABELS: Record<CellKind, string> = {
  none: '-',
  readonly: 'Readonly',
  'autograded-answer': 'Autograded answer',
  'autograded-tests': 'Autograded tests',
  'manual-answer': 'Manually graded answer',
  'manual-task': 'Manually graded task'
};

/** Allowed characters of a grade id (the converter's GRADE_ID_RE). */
export const GRADE_ID_RE = /^[a-zA-Z0-9_-]*$/;

/** The metadata object if the cell has one (anything else is ignored, as the converter does). */
export function asNbgrader(value: unknown): INbgraderMetadata | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as INbgraderMetadata)
    : null;
}

/** The cell kind the converter sees, by its predicates (task, then answer, tests, locked). */
export function kindOf(raw: unknown): CellKind {
  const meta = asNbgrader(raw);
  if (!meta) {
    return 'none';
  }
  if (meta.task === true) {
    return 'manual-task';
  }
  if (meta.solution === true) {
    return meta.grade === true ? 'manual-answer' : 'autograded-answer';
  }
  if (meta.grade === true) {
    return 'autograded-tests';
  }
  return meta.locked === true ? 'readonly' : 'none';
}

/** True if the kind carries points. */
export function hasPoints(kind: CellKind): boolean {
  return kind === 'autograded-tests' || kind === 'manual-answer' || kind === 'manual-task';
}

/** The kinds the converter accepts for a notebook cell type (task: markdown; markdown: graded answers only). */
export function kindAllowed(kind: CellKind, cellType: string): boolean {
  if (kind === 'manual-task') {
    return cellType === 'markdown';
  }
  if (cellType === 'markdown') {
    return kind !== 'autograded-answer' && kind !== 'autograded-tests';
  }
  return true;
}

/** A fresh grade id that is not in `taken`, e.g. "cell-3f9a1c0b". */
export function newGradeId(taken: Set<string>, random: () => number = Math.random): string {
  for (;;) {
    const id = `cell-${Math.floor(random() * 0xffffffff)
      .toString(16)
      .padStart(8, '0')}`;
    if (!taken.has(id)) {
      return id;
    }
  }
}

/**
 * The `metadata.nbgrader` for a cell of `kind`, or null for "none" (delete the key).
 * Keeps the grade id and points the cell had, so switching the kind back and forth
 * loses nothing; the checksum is dropped because it belongs to a released version.
 */
export function metadataFor(
  kind: CellKind,
  previous: unknown,
  taken: Set<string>
): INbgraderMetadata | null {
  if (kind === 'none') {
    return null;
  }
  const old = asNbgrader(previous) ?? {};
  const gradeId =
    typeof old.grade_id === 'string' && old.grade_id ? old.grade_id : newGradeId(taken);
  const meta: INbgraderMetadata = {
    schema_version: SCHEMA_VERSION,
    grade: kind === 'autograded-tests' || kind === 'manual-answer',
    solution: kind === 'autograded-answer' || kind === 'manual-answer',
    locked: kind === 'readonly' || kind === 'autograded-tests' || kind === 'manual-task',
    task: kind === 'manual-task',
    grade_id: gradeId
  };
  if (hasPoints(kind)) {
    meta.points =
      typeof old.points === 'number' && Number.isFinite(old.points) && old.points >= 0
        ? old.points
        : 0;
  }
  return meta;
}

/** Parse a points input: a finite number >= 0, or an error message saying what to enter. */
export function parsePoints(text: string): { value: number } | { error: string } {
  const trimmed = text.trim();
  if (trimmed === '') {
    return { error: 'Enter the points of this cell (0 or more).' };
  }
  const value = Number(trimmed);
  if (!Number.isFinite(value) || value < 0) {
    return { error: `"${trimmed}" is not a number of points: enter 0 or more.` };
  }
  return { value };
}

/** Check a grade id typed by the instructor; null if it is usable. */
export function gradeIdError(id: string): string | null {
  if (!id) {
    return 'Enter a grade id: graded cells are matched by it.';
  }
  if (!GRADE_ID_RE.test(id)) {
    return 'Use only letters, digits, "_" and "-" in a grade id.';
  }
  return null;
}
