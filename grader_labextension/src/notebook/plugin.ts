import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';

/**
 * In-notebook tools: creation mode for source notebooks, manual grading mode.
 */
export const notebookPlugin: JupyterFrontEndPlugin<void> = {
  id: 'grader-labextension:notebook-tools',
  description: 'Notebook creation mode with a validator, and manual grading in the notebook.',
  autoStart: true,
  activate: (_app: JupyterFrontEnd) => {
    // notebook tools are registered here
  }
};
