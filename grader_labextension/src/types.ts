/**
 * The JSON the grader service and the server extension send (the fields we use).
 */

export interface ILecture {
  id: number;
  name: string;
  code: string;
  complete: boolean;
}

export interface ILatePeriod {
  /** ISO-8601 duration from the deadline, e.g. "P1D". */
  period: string;
  /** Factor applied to the score, 0 < scaling < 1. */
  scaling: number;
}

export interface IExtension {
  username: string;
  deadline: string | null;
  extra_submissions: number;
}

export interface IAssignmentSettings {
  deadline: string | null;
  late_submission: ILatePeriod[];
  max_submissions: number | null;
  extensions?: IExtension[];
  autograde_type: string;
  /** Glob patterns of extra files students may submit besides notebooks. */
  allowed_files?: string[];
}

export interface IAssignment {
  id: number;
  lecture_id: number;
  name: string;
  status: string;
  points: number;
  settings: IAssignmentSettings;
}

export interface ISubmission {
  id: number;
  assignment_id: number;
  submitted_at: string;
  commit_hash: string;
  auto_status: string;
  manual_status: string;
  feedback_status: string;
  score: number | null;
  queue_position: number | null;
  estimated_wait_seconds: number | null;
}

export interface ISubmissionCount {
  submission_count: number;
  allowed: number | null;
  remaining: number | null;
}

/** A git working copy the server extension keeps for the user, and what changed in it. */
export interface IRepoStatus {
  fetched: boolean;
  path: string;
  lab_path: string | null;
  commit: string | null;
  changed_files: string[];
  untracked_files: string[];
  files: string[];
}

/** A student's working copy of an assignment. */
export interface ILocalStatus extends IRepoStatus {
  /** Reset and restore: the commit that saved the work first (null: nothing to save). */
  saved_commit?: string | null;
}

export interface IFeedback {
  path: string;
  lab_path: string | null;
  files: string[];
}

export interface IExtensionInfo {
  username: string;
  service_url: string;
  lectures_lab_path: string | null;
}

/** One `event: submission` of the service's event stream. */
export interface ISubmissionEvent {
  submission_id: number;
  assignment_id: number;
  lecture_id: number;
  auto_status: string;
  feedback_status: string;
  manual_status: string;
  queue_position: number | null;
}
