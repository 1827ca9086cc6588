/**
 * The instructor views' requests: thin wrappers over `requestAPI` that name the
 * service routes (through the `api/` proxy) and the server extension's routes.
 */
import { requestAPI } from '../api';
import {
  IExportResult,
  IGradebook,
  ILecture,
  IPermission,
  IRegradeResult,
  IReleaseOut,
  IReleasePreview,
  ISourceStatus,
  IStaffAssignment,
  IStaffSubmission,
  IWorkCopy,
  SubmissionFilter
} from './types';
import { IFullSettings } from './types';

const PAGE = 1000;

export const assignmentPath = (l: number, a: number): string =>
  `lectures/${l}/assignments/${a}`;

export const client = {
  permissions: (): Promise<IPermission[]> => requestAPI<IPermission[]>('api/permissions'),

  lectures: (): Promise<ILecture[]> => requestAPI<ILecture[]>('api/lectures?instructor=true'),

  setLectureComplete: (l: number, complete: boolean): Promise<ILecture> =>
    requestAPI<ILecture>(`api/lectures/${l}`, { method: 'PUT', json: { complete } }),

  async assignments(l: number): Promise<IStaffAssignment[]> {
    const all: IStaffAssignment[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const page = await requestAPI<IStaffAssignment[]>(
        `api/lectures/${l}/assignments?limit=${PAGE}&offset=${offset}`
      );
      all.push(...page);
      if (page.length < PAGE) {
        return all;
      }
    }
  },

  assignment: (l: number, a: number): Promise<IStaffAssignment> =>
    requestAPI<IStaffAssignment>(`api/${assignmentPath(l, a)}`),

  createAssignment: (l: number, name: string, settings: IFullSettings): Promise<IStaffAssignment> =>
    requestAPI<IStaffAssignment>(`api/lectures/${l}/assignments`, {
      method: 'POST',
      json: { name, settings }
    }),

  updateAssignment: (
    l: number,
    a: number,
    body: { name?: string; status?: string; settings?: IFullSettings }
  ): Promise<IStaffAssignment> =>
    requestAPI<IStaffAssignment>(`api/${assignmentPath(l, a)}`, { method: 'PUT', json: body }),

  deleteAssignment: (l: number, a: number): Promise<null> =>
    requestAPI<null>(`api/${assignmentPath(l, a)}`, { method: 'DELETE' }),

  /** Everyone's submissions (all pages), optionally each student's latest or best. */
  async submissions(l: number, a: number, filter: SubmissionFilter): Promise<IStaffSubmission[]> {
    const all: IStaffSubmission[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const page = await requestAPI<IStaffSubmission[]>(
        `api/${assignmentPath(l, a)}/submissions?instructor-version=true&filter=${filter}` +
          `&limit=${PAGE}&offset=${offset}`
      );
      all.push(...page);
      if (page.length < PAGE) {
        return all;
      }
    }
  },

  submission: (l: number, a: number, s: number): Promise<IStaffSubmission> =>
    requestAPI<IStaffSubmission>(`api/${assignmentPath(l, a)}/submissions/${s}`),

  updateSubmission: (
    l: number,
    a: number,
    s: number,
    body: Partial<Pick<IStaffSubmission, 'score_scaling' | 'manual_status' | 'feedback_status'>>
  ): Promise<IStaffSubmission> =>
    requestAPI<IStaffSubmission>(`api/${assignmentPath(l, a)}/submissions/${s}`, {
      method: 'PUT',
      json: body
    }),

  logs: (l: number, a: number, s: number): Promise<string> =>
    requestAPI<string>(`api/${assignmentPath(l, a)}/submissions/${s}/logs`),

  gradebook: (l: number, a: number, s: number): Promise<IGradebook> =>
    requestAPI<IGradebook>(`api/${assignmentPath(l, a)}/submissions/${s}/properties`),

  autograde: (l: number, a: number, s: number): Promise<unknown> =>
    requestAPI(`api/${assignmentPath(l, a)}/submissions/${s}/autograde`, { method: 'POST' }),

  feedback: (l: number, a: number, s: number): Promise<unknown> =>
    requestAPI(`api/${assignmentPath(l, a)}/submissions/${s}/feedback`, { method: 'POST' }),

  regradeAll: (l: number, a: number): Promise<IRegradeResult> =>
    requestAPI<IRegradeResult>(`api/${assignmentPath(l, a)}/regrade`, { method: 'POST' }),

  source: (l: number, a: number): Promise<ISourceStatus> =>
    requestAPI<ISourceStatus>(`${assignmentPath(l, a)}/source`),

  pullSource: (l: number, a: number): Promise<ISourceStatus> =>
    requestAPI<ISourceStatus>(`${assignmentPath(l, a)}/source/pull`, { method: 'POST' }),

  pushSource: (
    l: number,
    a: number,
    message: string,
    files: string[] | null
  ): Promise<ISourceStatus & { commit: string }> =>
    requestAPI<ISourceStatus & { commit: string }>(`${assignmentPath(l, a)}/source/push`, {
      method: 'POST',
      json: { message, files }
    }),

  previewRelease: (l: number, a: number): Promise<IReleasePreview> =>
    requestAPI<IReleasePreview>(`api/${assignmentPath(l, a)}/release/preview`),

  release: (l: number, a: number): Promise<IReleaseOut> =>
    requestAPI<IReleaseOut>(`api/${assignmentPath(l, a)}/release`, { method: 'POST' }),

  manual: (l: number, a: number, s: number): Promise<IWorkCopy> =>
    requestAPI<IWorkCopy>(`${assignmentPath(l, a)}/submissions/${s}/manual`, { method: 'POST' }),

  edit: (l: number, a: number, s: number): Promise<IWorkCopy> =>
    requestAPI<IWorkCopy>(`${assignmentPath(l, a)}/submissions/${s}/edit`, { method: 'POST' }),

  pushEdit: (l: number, a: number, s: number, message: string): Promise<{ commit: string }> =>
    requestAPI<{ commit: string }>(`${assignmentPath(l, a)}/submissions/${s}/edit/push`, {
      method: 'POST',
      json: { message }
    }),

  exportAssignment: (l: number, a: number, filter: SubmissionFilter): Promise<IExportResult> =>
    requestAPI<IExportResult>(`${assignmentPath(l, a)}/export`, {
      method: 'POST',
      json: { filter: filter === 'none' ? 'all' : filter }
    }),

  exportLecture: (l: number, filter: 'latest' | 'best'): Promise<IExportResult> =>
    requestAPI<IExportResult>(`lectures/${l}/export`, { method: 'POST', json: { filter } })
};
