/**
 * Course management for tutors and instructors: a main-area "Course Management" view,
 * opened from a launcher card and the command palette (category "Grader"). Both appear
 * only for users with a tutor or instructor role in some lecture (`api/permissions`).
 *
 * UI map (accessible names; the browser tests drive exactly these):
 * - launcher card / palette command "Course Management" (command id grader:course-management)
 * - widget: `.jp-grader-CourseManagement`, heading "Course Management", button "Refresh"
 * - lecture list: sections "Active lectures", "Completed lectures"; one button per lecture
 *   named by the lecture's name (`li[data-lecture-id]`)
 * - breadcrumbs nav "Breadcrumbs": buttons "Lectures", then the lecture's name
 * - lecture view: buttons "New assignment", "Refresh", table of assignments (rows
 *   `tr[data-assignment-id]`; row header = button with the assignment name; columns
 *   Assignment, Status, Deadline, Points, Students, Submissions, Group); select
 *   "Grade sheet counts", buttons "Export lecture CSV", "Mark lecture complete" / "Reopen lecture"
 * - assignment form (new: section "New assignment"; edit: tab "Settings"): inputs labelled
 *   "Name", "Group", "Grading" (select), "Deadline", "Release automatically at",
 *   buttons "Add late period" -> inputs "Late period 1 duration", "Late period 1 score
 *   factor", button "Remove late period 1"; "Maximum submissions", "Allowed files",
 *   "Largest file (MiB)", "Most files per submission", button "Add extension" -> inputs
 *   "Extension 1 student", "Extension 1 deadline", "Extension 1 extra submissions";
 *   "Cell timeout (seconds)", "Grading image", "Students see feedback" (select),
 *   checkboxes "Show the code of visible tests in feedback", "Show the output of visible
 *   tests in feedback"; buttons "Save", "Cancel". Field errors: `.jp-grader-cm-field-error`
 *   (wired with aria-describedby); form-level errors in role=alert `.jp-grader-form-errors`.
 * - assignment view (`.jp-grader-assignment-view[data-assignment-id]`): tablist with tabs
 *   "Overview", "Submissions", "Statistics", "Settings"
 * - Overview: buttons "Pull source", "Open in file browser", changed-file checkboxes named by
 *   the file, input "Commit message", buttons "Push source", "Refresh source status",
 *   "Preview release" (shows table "Student version of source commit ..." with notebook
 *   points and the file list), "Release" (enabled after a preview; "Release again" once
 *   released), "Mark complete", "Reopen". Progress/results: role=status `.jp-grader-status`.
 * - Submissions: selects "Submissions per student" (Latest / Best / All), "Autograde
 *   status", "Manual status", "Feedback status" (filters), search input "Search student";
 *   buttons "Autograde selected", "Generate feedback for selected", "Regrade all",
 *   "Export CSV", "Refresh"; table columns with sort buttons in th: "Student", "Submitted",
 *   "Auto status", "Manual status", "Feedback status", "Score"; rows
 *   `tr[data-submission-id]`, checkboxes "Select submission {id} of {username}" and
 *   "Select all on this page"; button "Details of {username}'s submission {id}" opens the
 *   group "Submission {id} of {username}" (role=group; match its buttons with exact=True):
 *   "Show logs" / "Hide logs" (log in `pre` "Grading log of submission {id}"), "Manual
 *   grading", "Autograde", "Generate feedback", "Edit submission" (then input "Edit
 *   message" and button "Push edited submission"), input "Score factor", button "Save
 *   score factor"; pager buttons "Previous page", "Next page", select "Rows per page".
 *   The "live" badge (`.jp-grader-live.jp-mod-live`) shows the lecture's event stream.
 * - Statistics: button "Refresh statistics"; figures "Score distribution (latest submission
 *   per student)", "Submissions per day", "Grading progress (all submissions)", "Failure
 *   rate per graded cell" (each an svg role=img plus a "Data of ..." table).
 * - Settings: the form above; "Delete assignment" -> "Yes, delete {name}" / "Keep it".
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';

import { graderIcon } from '../icons';
import { client } from './client';
import { IInstructorOpener } from './common';
import { CourseManagementWidget } from './CourseManagement';

const COMMAND = 'grader:course-management';

/**
 * Course management for instructors and tutors.
 */
export const instructorPlugin: JupyterFrontEndPlugin<void> = {
  id: 'grader-labextension:course-management',
  description: 'Course management: assignments, release, submissions, grading, statistics.',
  autoStart: true,
  optional: [ILauncher, ICommandPalette],
  activate: (app: JupyterFrontEnd, launcher: ILauncher | null, palette: ICommandPalette | null) => {
    const opener: IInstructorOpener = {
      openFile: path => {
        void app.commands.execute('docmanager:open', { path });
      },
      showFolder: path => {
        if (app.commands.hasCommand('filebrowser:go-to-path')) {
          void app.commands.execute('filebrowser:go-to-path', { path });
        }
      }
    };

    let widget: MainAreaWidget<CourseManagementWidget> | null = null;
    app.commands.addCommand(COMMAND, {
      label: 'Course Management',
      caption: 'Lectures, assignments, release, submissions and grading (tutors and instructors)',
      icon: graderIcon,
      execute: () => {
        if (!widget || widget.isDisposed) {
          const content = new CourseManagementWidget(opener);
          widget = new MainAreaWidget({ content });
          widget.id = 'grader-labextension-course-management';
          widget.title.label = 'Course Management';
          widget.title.icon = graderIcon;
          widget.title.closable = true;
        }
        if (!widget.isAttached) {
          app.shell.add(widget, 'main');
        }
        app.shell.activateById(widget.id);
      }
    });

    // Only staff get the entry points; asked in the background so start-up never waits
    // on the grader service.
    void client
      .permissions()
      .then(permissions => {
        if (!permissions.some(p => p.role === 'instructor' || p.role === 'tutor')) {
          return;
        }
        launcher?.add({ command: COMMAND, category: 'Grader', rank: 1 });
        palette?.addItem({ command: COMMAND, category: 'Grader' });
      })
      .catch(error => {
        console.warn('grader-labextension: no course management (permissions unknown):', error);
      });
  }
};
