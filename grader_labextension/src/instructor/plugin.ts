import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';

/**
 * Course management for instructors and tutors (filled in by the instructor views).
 */
export const instructorPlugin: JupyterFrontEndPlugin<void> = {
  id: 'grader-labextension:course-management',
  description: 'Course management: assignments, release, submissions, grading, statistics.',
  autoStart: true,
  activate: (_app: JupyterFrontEnd) => {
    // views are registered here
  }
};
