/**
 * Editing a submission's gradebook (`.../submissions/{s}/properties`) in manual grading.
 *
 * The JSON is the converter's gradebook.json (grader_service/convert/gradebook.py):
 * notebooks keyed by notebook id (path below the submission without ".ipynb"), and per
 * notebook `grade_cells_dict`/`task_cells_dict` (max points), `grades_dict` (auto_score,
 * manual_score, extra_credit) and `comments_dict` (auto_comment, manual_comment), all
 * keyed by grade id. A cell's score is the manual score if set, else the automatic one,
 * plus extra credit: the service's rule, so the totals shown here are what it stores.
 *
 * Edits return a new gradebook and keep every field this module does not know about,
 * because the whole gradebook is PUT back.
 *
 * Pure functions (no JupyterLab imports), unit-tested.
 */

/** One grade of a graded cell (the fields we use; the rest is kept as is). */
export interface IGrade {
  id?: string;
  notebook_id?: string;
  cell_id?: string;
  auto_score?: number | null;
  manual_score?: number | null;
  extra_credit?: number | null;
  needs_manual_grade?: boolean;
  max_score_gradecell?: number | null;
  max_score_taskcell?: number | null;
  failed_tests?: boolean;
  [key: string]: unknown;
}

export interface IComment {
  id?: string;
  notebook_id?: string;
  cell_id?: string;
  auto_comment?: string | null;
  manual_comment?: string | null;
  [key: string]: unknown;
}

export interface IGradedCellDef {
  id?: string;
  name?: string;
  max_score?: number;
  cell_type?: string;
  [key: string]: unknown;
}

export interface IGradebookNotebook {
  id?: string;
  name?: string;
  grade_cells_dict?: Record<string, IGradedCellDef>;
  task_cells_dict?: Record<string, IGradedCellDef>;
  solution_cells_dict?: Record<string, unknown>;
  source_cells_dict?: Record<string, unknown>;
  grades_dict?: Record<string, IGrade>;
  comments_dict?: Record<string, IComment>;
  [key: string]: unknown;
}

export interface IGradebook {
  notebooks: Record<string, IGradebookNotebook>;
  [key: string]: unknown;
}

export type GradedKind = 'test' | 'answer' | 'task';

/** What the grader sees of one graded cell. */
export interface IGradedCell {
  gradeId: string;
  kind: GradedKind;
  maxScore: number;
  autoScore: number | null;
  manualScore: number | null;
  extraCredit: number | null;
  /** The manual comment if a grader wrote one, else null. */
  manualComment: string | null;
  autoComment: string | null;
  /** The cell's score by the service's rule. */
  score: number;
  /** Autograde could not score it (manual answers and tasks) and nobody has yet. */
  needsGrading: boolean;
}

/** The gradebook key of a notebook: its path below the submission, without ".ipynb". */
export function notebookId(relativePath: string): string {
  return relativePath.replace(/\.ipynb$/i, '');
}

const num = (value: unknown): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? value : null;

/** Manual score if set, else the automatic one, plus extra credit (the service's rule). */
export function gradeScore(grade: IGrade | undefined): number {
  if (!grade) {
    return 0;
  }
  const base = num(grade.manual_score) ?? num(grade.auto_score) ?? 0;
  return base + (num(grade.extra_credit) ?? 0);
}

/** Maximum points of a graded cell: its task or grade cell definition. */
export function maxScoreOf(nb: IGradebookNotebook, gradeId: string): number {
  return (
    num(nb.task_cells_dict?.[gradeId]?.max_score) ??
    num(nb.grade_cells_dict?.[gradeId]?.max_score) ??
    0
  );
}

/** The graded cells of a notebook (tests, graded answers, tasks) with their grades. */
export function gradedCells(nb: IGradebookNotebook): IGradedCell[] {
  const ids = [
    ...Object.keys(nb.grade_cells_dict ?? {}),
    ...Object.keys(nb.task_cells_dict ?? {}).filter(id => !(id in (nb.grade_cells_dict ?? {})))
  ];
  return ids.map(gradeId => {
    const grade = nb.grades_dict?.[gradeId];
    const comment = nb.comments_dict?.[gradeId];
    const kind: GradedKind =
      gradeId in (nb.task_cells_dict ?? {})
        ? 'task'
        : gradeId in (nb.solution_cells_dict ?? {})
          ? 'answer'
          : 'test';
    const autoScore = num(grade?.auto_score);
    const manualScore = num(grade?.manual_score);
    return {
      gradeId,
      kind,
      maxScore: maxScoreOf(nb, gradeId),
      autoScore,
      manualScore,
      extraCredit: num(grade?.extra_credit),
      manualComment: typeof comment?.manual_comment === 'string' ? comment.manual_comment : null,
      autoComment: typeof comment?.auto_comment === 'string' ? comment.auto_comment : null,
      score: gradeScore(grade),
      needsGrading: autoScore === null && manualScore === null
    };
  });
}

export interface ITotals {
  score: number;
  maxScore: number;
}

/** Score and maximum of one notebook (only grades of graded cells count, as in the service). */
export function notebookTotals(nb: IGradebookNotebook): ITotals {
  let score = 0;
  let maxScore = 0;
  for (const cell of gradedCells(nb)) {
    score += cell.score;
    maxScore += cell.maxScore;
  }
  return { score, maxScore };
}

/** Score and maximum of the whole submission. */
export function gradebookTotals(gb: IGradebook): ITotals {
  let score = 0;
  let maxScore = 0;
  for (const nb of Object.values(gb.notebooks ?? {})) {
    const totals = notebookTotals(nb);
    score += totals.score;
    maxScore += totals.maxScore;
  }
  return { score: round(score), maxScore: round(maxScore) };
}

/** Rounds away float noise (0.1 + 0.2) for display and comparison. */
export function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/** A grader's change to one cell; undefined fields stay as they are, null clears. */
export interface ICellEdit {
  manualScore?: number | null;
  extraCredit?: number | null;
  comment?: string | null;
}

/**
 * A copy of the gradebook with one cell's manual score, extra credit or comment set.
 * Creates the grade or comment entry if autograde left none (e.g. never autograded).
 * Throws an Error naming the cell if it is not a graded cell of the notebook.
 */
export function applyCellEdit(
  gb: IGradebook,
  notebook: string,
  gradeId: string,
  edit: ICellEdit
): IGradebook {
  const nb = gb.notebooks?.[notebook];
  if (!nb) {
    throw new Error(`The gradebook has no notebook "${notebook}".`);
  }
  const isTask = gradeId in (nb.task_cells_dict ?? {});
  if (!isTask && !(gradeId in (nb.grade_cells_dict ?? {}))) {
    throw new Error(`"${gradeId}" is not a graded cell of notebook "${notebook}".`);
  }
  const newNb: IGradebookNotebook = { ...nb };
  if (edit.manualScore !== undefined || edit.extraCredit !== undefined) {
    const maxScore = maxScoreOf(nb, gradeId);
    const old: IGrade = nb.grades_dict?.[gradeId] ?? {
      id: gradeId,
      notebook_id: nb.id ?? notebook,
      cell_id: gradeId,
      auto_score: null,
      manual_score: null,
      extra_credit: null,
      needs_manual_grade: true,
      max_score_gradecell: isTask ? null : maxScore,
      max_score_taskcell: isTask ? maxScore : null,
      failed_tests: false
    };
    const grade: IGrade = { ...old, max_score: maxScore };
    if (edit.manualScore !== undefined) {
      grade.manual_score = edit.manualScore;
    }
    if (edit.extraCredit !== undefined) {
      grade.extra_credit = edit.extraCredit;
    }
    newNb.grades_dict = { ...nb.grades_dict, [gradeId]: grade };
  }
  if (edit.comment !== undefined) {
    const old: IComment = nb.comments_dict?.[gradeId] ?? {
      id: gradeId,
      notebook_id: nb.id ?? notebook,
      cell_id: gradeId,
      auto_comment: null,
      manual_comment: null
    };
    const text = edit.comment?.trim() ? edit.comment : null;
    newNb.comments_dict = { ...nb.comments_dict, [gradeId]: { ...old, manual_comment: text } };
  }
  return { ...gb, notebooks: { ...gb.notebooks, [notebook]: newNb } };
}

export type ParsedScore = { value: number | null } | { error: string };

/**
 * Parse a score input: empty means "not set" (null), otherwise a number between `min`
 * and `max` (max may be Infinity); an error message says what to enter.
 */
export function parseScore(text: string, min: number, max: number, what: string): ParsedScore {
  const trimmed = text.trim().replace(',', '.');
  if (trimmed === '') {
    return { value: null };
  }
  const value = Number(trimmed);
  if (!Number.isFinite(value)) {
    return { error: `${what}: "${text.trim()}" is not a number.` };
  }
  if (value < min || value > max) {
    const range = Number.isFinite(max) ? `between ${min} and ${max}` : `${min} or more`;
    return { error: `${what} must be ${range}.` };
  }
  return { value };
}

/** "7.5" / "10": points without float noise. */
export function formatPoints(value: number): string {
  return String(round(value));
}
