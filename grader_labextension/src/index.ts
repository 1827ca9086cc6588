import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';

import { graderIcon } from './icons';
import { AssignmentsPanel } from './components/AssignmentsPanel';
import { instructorPlugin } from './instructor/plugin';
import { notebookPlugin } from './notebook/plugin';

const COMMAND = 'grader:show-assignments';

/** The students' "Assignments" sidebar. */
const plugin: JupyterFrontEndPlugin<void> = {
  id: 'grader-labextension:plugin',
  description: 'Assignments of grader-service: fetch, submit, live grading status, feedback.',
  autoStart: true,
  requires: [IDocumentManager],
  optional: [ILabShell, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    docManager: IDocumentManager,
    labShell: ILabShell | null,
    palette: ICommandPalette | null
  ) => {
    const panel = new AssignmentsPanel({
      openFile: path => {
        docManager.openOrReveal(path);
      },
      showFolder: path => {
        if (app.commands.hasCommand('filebrowser:go-to-path')) {
          void app.commands.execute('filebrowser:go-to-path', {
            path,
            dontShowBrowser: true
          });
        }
      }
    });
    panel.id = 'grader-labextension-assignments';
    panel.title.icon = graderIcon;
    panel.title.caption = 'Assignments';
    app.shell.add(panel, 'left', { rank: 600 });

    app.commands.addCommand(COMMAND, {
      label: 'Show Assignments',
      caption: 'Lectures, assignments and the grading of your submissions',
      icon: graderIcon,
      execute: () => {
        if (labShell) {
          labShell.activateById(panel.id);
        } else {
          app.shell.activateById(panel.id);
        }
      }
    });
    palette?.addItem({ command: COMMAND, category: 'Grader' });
  }
};

export default [plugin, instructorPlugin, notebookPlugin];
