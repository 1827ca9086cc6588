import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { LabIcon } from '@jupyterlab/ui-components';

import { AssignmentsPanel } from './components/AssignmentsPanel';

const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16">
<path class="jp-icon3" fill="#616161" d="M12 3 1 9l11 6 9-4.91V17h2V9L12 3zm-6.82 9.18v4L12 20l6.82-3.82v-4L12 16l-6.82-3.82z"/>
</svg>`;

export const graderIcon = new LabIcon({ name: 'grader-labextension:icon', svgstr: ICON_SVG });

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

export default plugin;
