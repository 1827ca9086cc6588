/**
 * The JSON of the instructor views: the service's staff views of assignments and
 * submissions, and the server extension's source/manual/edit/export answers.
 */
import { ILatePeriod, IExtension, ILecture, IRepoStatus } from '../types';

export type LectureRole = 'student' | 'tutor' | 'instructor';

/** One row of `api/permissions`. */
export interface IPermission {
  lecture_id: number;
  lecture_code: string;
  role: LectureRole;
  scope: number;
}

export type AssignmentStatus = 'created' | 'pushed' | 'released' | 'complete';
export type AutogradeType = 'unassisted' | 'auto' | 'full_auto';
export type FeedbackTiming = 'immediately' | 'after_deadline';

export interface IFeedbackVisibility {
  show_test_code: boolean;
  show_test_output: boolean;
  when: FeedbackTiming;
}

/** Every field of the service's AssignmentSettings (orm/settings.py). */
export interface IFullSettings {
  deadline: string | null;
  late_submission: ILatePeriod[];
  max_submissions: number | null;
  allowed_files: string[];
  autograde_type: AutogradeType;
  cell_timeout: number | null;
  group: string | null;
  release_at: string | null;
  extensions: IExtension[];
  image: string | null;
  max_file_size_mb: number | null;
  max_file_count: number | null;
  feedback_visibility: IFeedbackVisibility;
}

export interface IStaffAssignment {
  id: number;
  lecture_id: number;
  name: string;
  status: AssignmentStatus;
  points: number;
  settings: IFullSettings;
  deleted: boolean;
  created_at: string;
  updated_at: string;
}

export type AutoStatus = 'not_graded' | 'pending' | 'automatically_graded' | 'grading_failed';
export type ManualStatus = 'not_graded' | 'being_edited' | 'manually_graded';
export type FeedbackStatus =
  | 'not_generated'
  | 'generating'
  | 'generated'
  | 'generation_failed'
  | 'feedback_outdated';

/** A submission as tutors and instructors see it. */
export interface IStaffSubmission {
  id: number;
  assignment_id: number;
  user_id: number;
  username: string;
  user_display_name: string;
  submitted_at: string;
  commit_hash: string;
  auto_status: AutoStatus;
  manual_status: ManualStatus;
  feedback_status: FeedbackStatus;
  grading_score: number | null;
  score_scaling: number;
  score: number | null;
  edited: boolean;
  deleted: boolean;
  queue_position?: number | null;
}

/** `.../source` of the server extension: the instructors' source repository. */
export interface ISourceStatus extends IRepoStatus {
  remote_commit: string | null;
}

export interface IReleasePreview {
  source_commit: string;
  files: string[];
  points: number;
  notebooks: Record<string, number>;
}

export interface IReleaseOut extends IReleasePreview {
  release_commit: string;
  tag: string;
  assignment: IStaffAssignment;
}

export interface IRegradeResult {
  queued: number;
  already_queued: number;
}

/** A folder of files the server extension wrote (manual grading, edit copy). */
export interface IWorkCopy {
  path: string;
  lab_path: string | null;
  files: string[];
}

export interface IExportResult {
  path: string;
  lab_path: string | null;
  rows: number;
}

export type SubmissionFilter = 'none' | 'latest' | 'best';

/** A gradebook (convert/gradebook.py), only the fields the statistics read. */
export interface IGrade {
  id?: string;
  cell_id?: string;
  auto_score: number | null;
  manual_score: number | null;
  extra_credit?: number | null;
  failed_tests?: boolean;
  max_score_gradecell?: number | null;
  max_score_taskcell?: number | null;
}

export interface IGradeCell {
  name: string;
  max_score: number;
}

export interface IGradebookNotebook {
  name: string;
  grade_cells_dict?: Record<string, IGradeCell>;
  task_cells_dict?: Record<string, IGradeCell>;
  grades_dict?: Record<string, IGrade>;
}

export interface IGradebook {
  notebooks: Record<string, IGradebookNotebook>;
}

export { ILecture };
