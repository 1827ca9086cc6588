/**
 * In-notebook tools: creation mode for source notebooks, manual grading mode for
 * submissions, and a deadline banner on students' assignment notebooks.
 *
 * Which tools a notebook gets depends on where it is in the lectures dir (paths.ts):
 * - `{lectures}/{code}/source/{a}/...`: the "Creation mode" toggle (off when opened).
 *   Other notebooks outside the lectures' student and grading folders get the toggle
 *   too when the user is a tutor or instructor of some lecture.
 * - `{lectures}/{code}/manualgrade/{a}/{s}/...`: manual grading, always on.
 * - `{lectures}/{code}/assignments/{a}/...`: the deadline banner, and "Show hint" above
 *   cells that have a hint.
 *
 * Accessible names (for keyboard users, screen readers and browser tests):
 * - toolbar: button "Creation mode" (exact accessible name; aria-pressed true/false; the
 *   number of problems is its accessible description ("2 problems in this notebook"),
 *   its title, and a badge with data-testid="creation-problem-count", absent at 0); command
 *   "grader:toggle-creation-mode" ("Toggle Creation Mode") in the palette.
 * - creation mode, above the notebook: region "Assignment problems" with a button
 *   "N problems to fix before release" / "No problems found" (expands the list) and one
 *   button per problem ("Error, cell 3: ..." / "Warning, cell 2: ..."): a click selects
 *   and scrolls to the cell.
 * - creation mode, per cell (class jp-grader-cell-bar, first child of the cell): select
 *   "Cell type" (options "None (not graded)", "Readonly", "Autograded answer",
 *   "Autograded tests", "Manually graded answer", "Manually graded task"), inputs
 *   "Grade id" and "Points" (written on Enter or blur; invalid values are refused with a
 *   role=alert message), button "Add hint" and textarea "Hint"; the cell's problems are
 *   listed below.
 * - manual grading, above the notebook: region "Manual grading" with buttons
 *   "Save grades" (enabled once something changed and every input is valid),
 *   "Finish manual grading" (saves first), "Reload grades", the total in
 *   data-testid="grading-total" ("Score: 7 / 10"), the manual status ("Manually graded")
 *   and a role=status line ("Grades saved. Score: 0.75.", "Not autograded: ...").
 * - manual grading, per graded cell: group "Grading of {grade id}" with inputs
 *   "Manual score" (0 to the cell's points; empty = use the auto score), "Extra credit"
 *   (0 or more) and textarea "Comment".
 * - student notebooks: a note "Deadline" above the notebook; above a cell with a hint a
 *   button "Show hint" / "Hide hint" (aria-expanded) revealing the hint text.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import { INotebookModel, INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';

import { CellAttachments } from './cells';
import { CreationMode } from './CreationMode';
import { deadlineBanner } from './DeadlineBanner';
import { hintWidget } from './HintButton';
import { ManualGrading } from './ManualGrading';
import { classifyPath } from './paths';
import { extensionInfo, permissions } from './store';

const TOGGLE_COMMAND = 'grader:toggle-creation-mode';

/** Creation mode of every open notebook that has the toggle. */
const creationModes = new WeakMap<NotebookPanel, CreationMode>();

/** Adds the tools that fit the notebook's place once the notebook has loaded. */
class NotebookTools implements DocumentRegistry.IWidgetExtension<NotebookPanel, INotebookModel> {
  createNew(
    panel: NotebookPanel,
    context: DocumentRegistry.IContext<INotebookModel>
  ): IDisposable {
    const owned: IDisposable[] = [];
    let disposed = false;
    void (async () => {
      const [info] = await Promise.all([extensionInfo(), context.ready]);
      if (disposed || panel.isDisposed) {
        return;
      }
      const place = classifyPath(context.path, info?.lectures_lab_path ?? null);
      if (place?.kind === 'manualgrade') {
        owned.push(new ManualGrading(panel, place));
        return;
      }
      if (place?.kind === 'assignment') {
        const banner = deadlineBanner(place.code, place.assignmentId, info?.username ?? null);
        panel.contentHeader.addWidget(banner);
        owned.push(banner, new CellAttachments(panel.content, hintWidget));
        return;
      }
      if (place?.kind !== 'source' && !(await mayAuthor(context.path, info?.lectures_lab_path ?? null))) {
        return;
      }
      if (disposed || panel.isDisposed) {
        return;
      }
      const mode = new CreationMode(panel);
      panel.toolbar.insertItem(10, 'graderCreationMode', mode.toggle);
      creationModes.set(panel, mode);
      owned.push(mode);
    })();
    return new DisposableDelegate(() => {
      disposed = true;
      creationModes.delete(panel);
      owned.forEach(d => d.dispose());
    });
  }
}

/**
 * True if a notebook outside the source folders may get the toggle: staff only, and
 * never in the folders of students' copies, feedback or submissions.
 */
async function mayAuthor(path: string, lecturesLabPath: string | null): Promise<boolean> {
  if (lecturesLabPath !== null) {
    const root = lecturesLabPath ? `${lecturesLabPath.replace(/\/+$/, '')}/` : '';
    const area = path.startsWith(root) ? path.slice(root.length).split('/')[1] : undefined;
    if (area && ['assignments', 'feedback', 'manualgrade', 'edit', 'release'].includes(area)) {
      return false;
    }
  }
  const roles = await permissions();
  return roles === null || roles.some(p => p.role !== 'student');
}

export const notebookPlugin: JupyterFrontEndPlugin<void> = {
  id: 'grader-labextension:notebook-tools',
  description: 'Notebook creation mode with a validator, and manual grading in the notebook.',
  autoStart: true,
  optional: [INotebookTracker, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker | null,
    palette: ICommandPalette | null
  ) => {
    app.docRegistry.addWidgetExtension('Notebook', new NotebookTools());
    if (!tracker) {
      return;
    }
    const current = (): CreationMode | undefined =>
      tracker.currentWidget ? creationModes.get(tracker.currentWidget) : undefined;
    app.commands.addCommand(TOGGLE_COMMAND, {
      label: 'Toggle Creation Mode',
      caption: 'Show the grading widgets (cell type, points, grade id) of this notebook',
      isEnabled: () => current() !== undefined,
      isToggled: () => current()?.enabled ?? false,
      execute: () => {
        const mode = current();
        mode?.setEnabled(!mode.enabled);
      }
    });
    palette?.addItem({ command: TOGGLE_COMMAND, category: 'Grader' });
  }
};
