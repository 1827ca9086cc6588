/**
 * The assignment form's model: a draft of strings (what the inputs hold), its
 * validation with the service's rules (orm/settings.py, handlers/assignment_models.py),
 * and the conversion to and from the service's settings JSON. Pure, unit-tested.
 */
import { parseDuration } from '../deadline.js';
import { AutogradeType, FeedbackTiming, IFullSettings, IStaffAssignment } from './types';

export interface ILatePeriodDraft {
  /** ISO-8601 duration after the deadline, e.g. "P1D". */
  period: string;
  /** Score factor as typed, e.g. "0.5". */
  scaling: string;
}

export interface IExtensionDraft {
  username: string;
  /** `<input type="datetime-local">` value in the browser's time zone, or "". */
  deadline: string;
  extra_submissions: string;
}

/** What the form's inputs hold. */
export interface IAssignmentDraft {
  name: string;
  deadline: string;
  late: ILatePeriodDraft[];
  max_submissions: string;
  /** Glob patterns, one per line. */
  allowed_files: string;
  autograde_type: AutogradeType;
  cell_timeout: string;
  group: string;
  release_at: string;
  extensions: IExtensionDraft[];
  image: string;
  max_file_size_mb: string;
  max_file_count: string;
  show_test_code: boolean;
  show_test_output: boolean;
  feedback_when: FeedbackTiming;
}

/** Field key (e.g. "name", "late.1.scaling", "extensions.0.username") -> message. */
export type FieldErrors = Record<string, string>;

export interface IValidated {
  errors: FieldErrors;
  /** The request body's name and settings when there are no errors. */
  name: string;
  settings: IFullSettings | null;
}

export const AUTOGRADE_TYPES: { value: AutogradeType; label: string }[] = [
  { value: 'auto', label: 'Autograde every submission; tutors release feedback' },
  { value: 'full_auto', label: 'Autograde and release feedback at once (no manual cells)' },
  { value: 'unassisted', label: 'No autograding; tutors start grading by hand' }
];

export function emptyDraft(): IAssignmentDraft {
  return {
    name: '',
    deadline: '',
    late: [],
    max_submissions: '',
    allowed_files: '',
    autograde_type: 'auto',
    cell_timeout: '',
    group: '',
    release_at: '',
    extensions: [],
    image: '',
    max_file_size_mb: '',
    max_file_count: '',
    show_test_code: true,
    show_test_output: true,
    feedback_when: 'immediately'
  };
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** An ISO timestamp as a `datetime-local` input value in the browser's time zone. */
export function toLocalInput(iso: string | null): string {
  if (!iso) {
    return '';
  }
  const d = new Date(iso);
  if (isNaN(d.getTime())) {
    return '';
  }
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
    `T${pad(d.getHours())}:${pad(d.getMinutes())}`
  );
}

/** A `datetime-local` value (browser time zone) as an ISO timestamp in UTC; null if invalid. */
export function fromLocalInput(value: string): string | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value.trim());
  if (!match) {
    return null;
  }
  const [, y, mo, d, h, mi, s] = match.map(Number);
  const date = new Date(y, mo - 1, d, h, mi, s || 0);
  // reject overflow such as Feb 30th, which Date would silently roll over
  if (date.getMonth() !== mo - 1 || date.getDate() !== d) {
    return null;
  }
  return date.toISOString().replace('.000Z', 'Z');
}

export function draftFromAssignment(a: IStaffAssignment): IAssignmentDraft {
  const s = a.settings;
  const num = (n: number | null | undefined): string => (n === null || n === undefined ? '' : String(n));
  return {
    name: a.name,
    deadline: toLocalInput(s.deadline),
    late: (s.late_submission ?? []).map(p => ({ period: p.period, scaling: String(p.scaling) })),
    max_submissions: num(s.max_submissions),
    allowed_files: (s.allowed_files ?? []).join('\n'),
    autograde_type: s.autograde_type ?? 'auto',
    cell_timeout: num(s.cell_timeout),
    group: s.group ?? '',
    release_at: toLocalInput(s.release_at),
    extensions: (s.extensions ?? []).map(e => ({
      username: e.username,
      deadline: toLocalInput(e.deadline),
      extra_submissions: String(e.extra_submissions ?? 0)
    })),
    image: s.image ?? '',
    max_file_size_mb: num(s.max_file_size_mb),
    max_file_count: num(s.max_file_count),
    show_test_code: s.feedback_visibility?.show_test_code ?? true,
    show_test_output: s.feedback_visibility?.show_test_output ?? true,
    feedback_when: s.feedback_visibility?.when ?? 'immediately'
  };
}

/** Parse an optional whole number with a lower bound; `undefined` means "invalid". */
function optionalInt(text: string, min: number): number | null | undefined {
  const t = text.trim();
  if (!t) {
    return null;
  }
  if (!/^\d+$/.test(t)) {
    return undefined;
  }
  const n = Number(t);
  return n >= min ? n : undefined;
}

function optionalNumber(text: string): number | null | undefined {
  const t = text.trim();
  if (!t) {
    return null;
  }
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

/** Check the draft as the service would, and build the request body. */
export function validateDraft(draft: IAssignmentDraft): IValidated {
  const errors: FieldErrors = {};
  const name = draft.name.trim();
  if (!name) {
    errors.name = 'Give the assignment a name.';
  } else if (name.length > 255) {
    errors.name = 'At most 255 characters.';
  } else if (/[/\\]/.test(name)) {
    errors.name = 'A name cannot contain / or \\.';
  }

  let deadline: string | null = null;
  if (draft.deadline.trim()) {
    deadline = fromLocalInput(draft.deadline);
    if (!deadline) {
      errors.deadline = 'Enter a date and time, e.g. 2026-12-01 23:59.';
    }
  }

  const late = draft.late.map((p, i) => {
    const ms = parseDuration(p.period.trim());
    if (!p.period.trim()) {
      errors[`late.${i}.period`] = 'Enter a duration such as P1D (1 day) or PT12H (12 hours).';
    } else if (isNaN(ms)) {
      errors[`late.${i}.period`] =
        'Not an ISO-8601 duration: write P1D, P2DT12H, PT6H or P1W.';
    } else if (ms <= 0) {
      errors[`late.${i}.period`] = 'The duration must be longer than zero.';
    }
    const scaling = Number(p.scaling.trim());
    if (!p.scaling.trim() || !Number.isFinite(scaling) || scaling <= 0 || scaling >= 1) {
      errors[`late.${i}.scaling`] = 'A factor between 0 and 1 (exclusive), e.g. 0.5.';
    }
    return { period: p.period.trim(), scaling, ms };
  });
  if (late.length && !draft.deadline.trim()) {
    errors.late = 'Late periods count from the deadline: set a deadline first.';
  }
  for (let i = 1; i < late.length; i++) {
    const [earlier, later] = [late[i - 1], late[i]];
    if (!errors[`late.${i}.period`] && !errors[`late.${i - 1}.period`] && later.ms <= earlier.ms) {
      errors[`late.${i}.period`] = 'Each late period must be longer than the one before.';
    }
    if (
      !errors[`late.${i}.scaling`] &&
      !errors[`late.${i - 1}.scaling`] &&
      later.scaling >= earlier.scaling
    ) {
      errors[`late.${i}.scaling`] = 'Each later period must scale less than the one before.';
    }
  }

  const maxSubmissions = optionalInt(draft.max_submissions, 1);
  if (maxSubmissions === undefined) {
    errors.max_submissions = 'A whole number of at least 1, or empty for no limit.';
  }
  const cellTimeout = optionalInt(draft.cell_timeout, 1);
  if (cellTimeout === undefined) {
    errors.cell_timeout = 'Whole seconds (at least 1), or empty for the default.';
  }
  const maxFileCount = optionalInt(draft.max_file_count, 1);
  if (maxFileCount === undefined) {
    errors.max_file_count = 'A whole number of at least 1, or empty for no limit.';
  }
  const maxFileSize = optionalNumber(draft.max_file_size_mb);
  if (maxFileSize === undefined || (maxFileSize !== null && maxFileSize <= 0)) {
    errors.max_file_size_mb = 'A size in MiB larger than 0, or empty for the service limit.';
  }
  const group = draft.group.trim();
  if (group.length > 255) {
    errors.group = 'At most 255 characters.';
  }
  const image = draft.image.trim();
  if (image.length > 512) {
    errors.image = 'At most 512 characters.';
  } else if (/\s/.test(image)) {
    errors.image = 'An image name has no spaces, e.g. registry.example.org/grader:2026.';
  }
  let releaseAt: string | null = null;
  if (draft.release_at.trim()) {
    releaseAt = fromLocalInput(draft.release_at);
    if (!releaseAt) {
      errors.release_at = 'Enter a date and time, or leave empty to release by hand.';
    }
  }
  const allowedFiles = draft.allowed_files
    .split('\n')
    .map(line => line.trim())
    .filter(Boolean);
  allowedFiles.forEach(pattern => {
    if (pattern.startsWith('/') || pattern.split('/').includes('..')) {
      errors.allowed_files = `"${pattern}": patterns are relative to the assignment folder.`;
    }
  });

  const seen = new Set<string>();
  const extensions = draft.extensions.map((e, i) => {
    const username = e.username.trim();
    if (!username) {
      errors[`extensions.${i}.username`] = 'Enter the student\'s username.';
    } else if (username.length > 255) {
      errors[`extensions.${i}.username`] = 'At most 255 characters.';
    } else if (seen.has(username)) {
      errors[`extensions.${i}.username`] = `${username} already has an extension above.`;
    }
    seen.add(username);
    let extDeadline: string | null = null;
    if (e.deadline.trim()) {
      extDeadline = fromLocalInput(e.deadline);
      if (!extDeadline) {
        errors[`extensions.${i}.deadline`] = 'Enter a date and time, or leave empty.';
      }
    }
    const extra = optionalInt(e.extra_submissions, 0);
    if (extra === undefined) {
      errors[`extensions.${i}.extra_submissions`] = 'A whole number, 0 or more.';
    }
    if (!errors[`extensions.${i}.deadline`] && !extDeadline && !extra) {
      errors[`extensions.${i}.deadline`] =
        'Give a later deadline or extra submissions (or remove this extension).';
    }
    return { username, deadline: extDeadline, extra_submissions: extra ?? 0 };
  });

  if (Object.keys(errors).length) {
    return { errors, name, settings: null };
  }
  return {
    errors,
    name,
    settings: {
      deadline,
      late_submission: late.map(p => ({ period: p.period, scaling: p.scaling })),
      max_submissions: maxSubmissions ?? null,
      allowed_files: allowedFiles,
      autograde_type: draft.autograde_type,
      cell_timeout: cellTimeout ?? null,
      group: group || null,
      release_at: releaseAt,
      extensions,
      image: image || null,
      max_file_size_mb: maxFileSize ?? null,
      max_file_count: maxFileCount ?? null,
      feedback_visibility: {
        show_test_code: draft.show_test_code,
        show_test_output: draft.show_test_output,
        when: draft.feedback_when
      }
    }
  };
}

const SETTING_FIELDS: Record<string, string> = {
  late_submission: 'late',
  extensions: 'extensions'
};

/**
 * The service's validation message ("body.settings.late_submission.0.scaling: Input
 * should be less than 1; body.name: ...") split into form field keys; what names no
 * field lands under "" (shown at the top of the form).
 */
export function serviceErrorsToFields(message: string): FieldErrors {
  const errors: FieldErrors = {};
  const add = (key: string, text: string): void => {
    errors[key] = errors[key] ? `${errors[key]} ${text}` : text;
  };
  // one problem per "; body.<field>: ..."; a message may itself contain "; "
  for (const part of message.split(/; (?=body\.)/)) {
    const match = /^body\.([\w.]+): (.*)$/s.exec(part.trim());
    if (!match) {
      add('', part.trim());
      continue;
    }
    const [, location, text] = match;
    const path = location.split('.');
    if (path[0] === 'name' && path.length === 1) {
      add('name', text);
    } else if (path[0] === 'settings' && path.length > 1) {
      const [field, ...rest] = path.slice(1);
      if (field === 'feedback_visibility') {
        add('', `${location.slice(5)}: ${text}`);
      } else {
        add([SETTING_FIELDS[field] ?? field, ...rest].join('.'), text);
      }
    } else {
      add('', `${location}: ${text}`);
    }
  }
  return errors;
}
