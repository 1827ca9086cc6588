/**
 * Checks a source notebook the way the service's release will (grader_service/convert:
 * metadata.validate_cell, upgrade_notebook, regions.replace_region and
 * assignment._check_region_placement), so an instructor sees every problem while
 * authoring instead of a failed release. Errors make the release fail; warnings are
 * accepted by the release but are almost certainly mistakes.
 *
 * Region markers are matched like the converter does: a line that contains the marker
 * text, whatever the comment prefix ("### BEGIN SOLUTION", "# BEGIN SOLUTION",
 * "<!-- BEGIN SOLUTION -->" all count).
 *
 * Pure functions (no JupyterLab imports), unit-tested.
 */
import {
  asNbgrader,
  CellKind,
  GRADE_ID_RE,
  hasPoints,
  kindOf,
  KIND_LABELS,
  SCHEMA_VERSION
} from './metadata.js';

/** What the validator needs of a cell. */
export interface ICellInfo {
  /** 'code', 'markdown' or 'raw'. */
  cellType: string;
  source: string;
  /** The cell's `metadata.nbgrader` (anything; validated here). */
  nbgrader: unknown;
}

export type Severity = 'error' | 'warning';

export interface IProblem {
  /** Index of the cell in the notebook. */
  cell: number;
  severity: Severity;
  /** A stable identifier of the check (for tests and styling). */
  code: string;
  /** What is wrong and what to do about it. */
  message: string;
}

/** A pair of region delimiters (the converter's Region). */
export interface IRegion {
  name: string;
  begin: string;
  end: string;
}

export const SOLUTION: IRegion = {
  name: 'solution',
  begin: 'BEGIN SOLUTION',
  end: 'END SOLUTION'
};
export const HIDDEN_TESTS: IRegion = {
  name: 'hidden tests',
  begin: 'BEGIN HIDDEN TESTS',
  end: 'END HIDDEN TESTS'
};
export const ALWAYS_HIDDEN_TESTS: IRegion = {
  name: 'always hidden tests',
  begin: 'BEGIN ALWAYS HIDDEN TESTS',
  end: 'END ALWAYS HIDDEN TESTS'
};
export const MARK_SCHEME: IRegion = {
  name: 'mark scheme',
  begin: 'BEGIN MARK SCHEME',
  end: 'END MARK SCHEME'
};
export const REGIONS = [SOLUTION, HIDDEN_TESTS, ALWAYS_HIDDEN_TESTS, MARK_SCHEME];

/** True if the source has the region's begin or end marker. */
export function regionPresent(source: string, region: IRegion): boolean {
  return source.includes(region.begin) || source.includes(region.end);
}

/**
 * What is wrong with the region's markers (nested, END without BEGIN, BEGIN without
 * END), as the converter's replace_region would refuse it; null if balanced.
 */
export function regionError(source: string, region: IRegion): string | null {
  let inside = false;
  let beginLine = 0;
  const lines = source.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.includes(region.begin)) {
      if (inside) {
        return `"${region.begin}" on line ${i + 1} is nested in the region opened on line ${beginLine}: close it with "${region.end}" first.`;
      }
      inside = true;
      beginLine = i + 1;
    } else if (line.includes(region.end)) {
      if (!inside) {
        return `"${region.end}" on line ${i + 1} has no "${region.begin}" before it.`;
      }
      inside = false;
    }
  }
  if (inside) {
    return `"${region.begin}" on line ${beginLine} is never closed: add a line "### ${region.end}".`;
  }
  return null;
}

const isTest = (kind: CellKind): boolean => kind === 'autograded-tests';
const isAnswer = (kind: CellKind): boolean =>
  kind === 'autograded-answer' || kind === 'manual-answer';

/** The problems of one cell that do not depend on other cells. */
function cellProblems(cell: ICellInfo, index: number): IProblem[] {
  const problems: IProblem[] = [];
  const add = (severity: Severity, code: string, message: string): void => {
    problems.push({ cell: index, severity, code, message });
  };
  const meta = asNbgrader(cell.nbgrader);
  const kind = kindOf(cell.nbgrader);

  if (meta) {
    const version = meta.schema_version;
    if (typeof version === 'number' && version > SCHEMA_VERSION) {
      add(
        'error',
        'schema-too-new',
        `The grading metadata has schema version ${version}; the service reads up to ${SCHEMA_VERSION}. Set the cell type again to rewrite it.`
      );
    }
    for (const key of ['grade', 'solution', 'locked', 'task'] as const) {
      if (key in meta && typeof meta[key] !== 'boolean') {
        add('error', 'bad-flag', `"${key}" in the grading metadata must be true or false.`);
      }
    }
  }

  if (kind !== 'none' && meta) {
    const gid = meta.grade_id;
    if (typeof gid !== 'string' || !gid) {
      add('error', 'missing-grade-id', `This ${KIND_LABELS[kind]} cell has no grade id: enter one.`);
    } else if (!GRADE_ID_RE.test(gid)) {
      add(
        'error',
        'bad-grade-id',
        `Grade id "${gid}" may only contain letters, digits, "_" and "-".`
      );
    }
    if (hasPoints(kind)) {
      const points = meta.points as unknown;
      if (typeof points !== 'number' || !Number.isFinite(points) || points < 0) {
        add('error', 'missing-points', `This ${KIND_LABELS[kind]} cell has no points: enter 0 or more.`);
      } else if (points === 0) {
        add(
          'warning',
          'zero-points',
          `This ${KIND_LABELS[kind]} cell is worth 0 points: enter the points it gives.`
        );
      }
    }
    if (kind === 'manual-task' && cell.cellType !== 'markdown') {
      add('error', 'task-not-markdown', 'A manually graded task must be a Markdown cell.');
    }
    if (cell.cellType === 'markdown' && (kind === 'autograded-answer' || kind === 'autograded-tests')) {
      add(
        'error',
        'markdown-autograded',
        `A Markdown cell cannot be an ${KIND_LABELS[kind]}: make it a Manually graded answer, or a code cell.`
      );
    }
  }

  for (const region of REGIONS) {
    const error = regionError(cell.source, region);
    if (error) {
      add('error', 'unbalanced-markers', error);
    }
  }

  const hasSolution = regionPresent(cell.source, SOLUTION);
  const hasHidden =
    regionPresent(cell.source, HIDDEN_TESTS) || regionPresent(cell.source, ALWAYS_HIDDEN_TESTS);
  if (kind === 'none' || kind === 'readonly') {
    if (hasSolution || hasHidden) {
      const which = hasSolution ? 'SOLUTION' : 'HIDDEN TESTS';
      const fix = hasSolution ? 'Autograded answer or Manually graded answer' : 'Autograded tests';
      add(
        'error',
        kind === 'none' ? 'markers-without-type' : 'misplaced-markers',
        kind === 'none'
          ? `This cell has ${which} markers but no cell type: set it to ${fix}, or the release fails.`
          : `A Readonly cell cannot have ${which} markers: set it to ${fix}.`
      );
    }
  } else {
    if (hasSolution && !isAnswer(kind)) {
      add(
        'error',
        'misplaced-markers',
        `"BEGIN SOLUTION" may only appear in an answer cell, not in a ${KIND_LABELS[kind]} cell.`
      );
    }
    if (hasHidden && !isTest(kind)) {
      add(
        'error',
        'misplaced-markers',
        `"BEGIN HIDDEN TESTS" may only appear in an Autograded tests cell, not in a ${KIND_LABELS[kind]} cell.`
      );
    }
  }
  if (isAnswer(kind) && cell.cellType === 'code' && !hasSolution) {
    add(
      'warning',
      'no-solution-region',
      'This answer cell has no "### BEGIN SOLUTION" / "### END SOLUTION" region: students get an empty stub instead of the whole cell. Mark the solution lines.'
    );
  }
  return problems;
}

/** Every problem of a notebook, in cell order. */
export function validateNotebook(cells: ICellInfo[]): IProblem[] {
  const problems: IProblem[] = [];
  const firstIndex = new Map<string, number>();
  cells.forEach((cell, index) => {
    problems.push(...cellProblems(cell, index));
    const meta = asNbgrader(cell.nbgrader);
    const gid = meta?.grade_id;
    if (kindOf(cell.nbgrader) === 'none' || typeof gid !== 'string' || !gid) {
      return;
    }
    const first = firstIndex.get(gid);
    if (first === undefined) {
      firstIndex.set(gid, index);
    } else {
      problems.push({
        cell: index,
        severity: 'error',
        code: 'duplicate-grade-id',
        message: `Grade id "${gid}" is also used by cell ${first + 1}: grade ids must be unique.`
      });
    }
  });
  return problems;
}

/** Sum of the points of the graded cells (what the assignment will be worth). */
export function totalPoints(cells: ICellInfo[]): number {
  let total = 0;
  for (const cell of cells) {
    const meta = asNbgrader(cell.nbgrader);
    if (meta && hasPoints(kindOf(meta)) && typeof meta.points === 'number' && meta.points > 0) {
      total += meta.points;
    }
  }
  return total;
}
