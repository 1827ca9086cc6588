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

type DocumentContext = NonNullable<ReturnType<IDocumentManager['contextForWidget']>>;

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
    /** The open documents (one context per file, however many views it has). */
    const openContexts = (): DocumentContext[] => {
      const byPath = new Map<string, DocumentContext>();
      for (const widget of app.shell.widgets('main')) {
        const context = docManager.contextForWidget(widget);
        if (context) {
          byPath.set(context.path, context);
        }
      }
      return [...byPath.values()];
    };
    const contextsUnder = (prefix: string): DocumentContext[] => {
      const folder = prefix.endsWith('/') ? prefix : `${prefix}/`;
      return openContexts().filter(c => c.path.startsWith(folder));
    };
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
      },
      unsavedFiles: () => openContexts().flatMap(c => (c.model.dirty ? [c.path] : [])),
      saveFiles: async prefix => {
        await Promise.all(
          contextsUnder(prefix)
            .filter(c => c.model.dirty)
            .map(c => c.save())
        );
      },
      reloadFiles: async prefix => {
        // unsaved edits stay: JupyterLab asks before they are overwritten on saving
        await Promise.all(
          contextsUnder(prefix)
            .filter(c => !c.model.dirty)
            .map(c => c.revert())
        );
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
