/**
 * Unit tests of the deadline and event-stream logic: `jlpm test` (node's test runner on
 * the compiled files; no browser needed).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  deadlineState,
  formatPeriod,
  formatSpan,
  lateRules,
  parseDuration
} from '../deadline.js';
import { parseEvents } from '../sse.js';
import { IAssignmentSettings } from '../types.js';

const HOUR = 3600000;
const DAY = 24 * HOUR;

function settings(over: Partial<IAssignmentSettings> = {}): IAssignmentSettings {
  return {
    deadline: '2030-01-10T12:00:00Z',
    late_submission: [],
    max_submissions: null,
    autograde_type: 'auto',
    ...over
  };
}

describe('parseDuration', () => {
  it('reads the durations the service writes', () => {
    assert.equal(parseDuration('P1D'), DAY);
    assert.equal(parseDuration('P1W'), 7 * DAY);
    assert.equal(parseDuration('PT12H'), 12 * HOUR);
    assert.equal(parseDuration('P1DT2H30M'), DAY + 2.5 * HOUR);
    assert.equal(parseDuration('PT90.5S'), 90500);
  });
  it('refuses what is not a duration', () => {
    assert.ok(isNaN(parseDuration('P')));
    assert.ok(isNaN(parseDuration('1D')));
    assert.ok(isNaN(parseDuration('P1DT')));
  });
});

describe('formatSpan', () => {
  it('shows the two largest units', () => {
    assert.equal(formatSpan(2 * DAY + 3 * HOUR + 5000), '2 days 3 h');
    assert.equal(formatSpan(DAY), '1 day 0 h');
    assert.equal(formatSpan(3 * HOUR + 5 * 60000), '3 h 5 min');
    assert.equal(formatSpan(250000), '4 min 10 s');
    assert.equal(formatSpan(-5), '0 s');
  });
});

describe('deadlineState', () => {
  const deadline = new Date('2030-01-10T12:00:00Z').getTime();
  const late = [
    { period: 'P1D', scaling: 0.5 },
    { period: 'P2D', scaling: 0.25 }
  ];

  it('counts down before the deadline', () => {
    const state = deadlineState(settings(), new Date(deadline - 2 * HOUR));
    assert.equal(state.phase, 'open');
    assert.equal(state.scaling, 1);
    assert.equal(state.label, 'Due in 2 h 0 min');
  });
  it('applies the first late period that has not ended', () => {
    let state = deadlineState(settings({ late_submission: late }), new Date(deadline + HOUR));
    assert.equal(state.phase, 'late');
    assert.equal(state.scaling, 0.5);
    assert.equal(state.label, 'Late: scored at 50% for 23 h 0 min');
    state = deadlineState(settings({ late_submission: late }), new Date(deadline + DAY + HOUR));
    assert.equal(state.scaling, 0.25);
    assert.deepEqual(state.endsAt, new Date(deadline + 2 * DAY));
  });
  it('closes after the last late period', () => {
    const state = deadlineState(
      settings({ late_submission: late }),
      new Date(deadline + 3 * DAY)
    );
    assert.equal(state.phase, 'closed');
    assert.equal(state.scaling, 0);
  });
  it('uses the student\'s extension', () => {
    const extended = settings({
      extensions: [{ username: 'ada', deadline: '2030-01-11T12:00:00Z', extra_submissions: 0 }]
    });
    const now = new Date(deadline + HOUR);
    assert.equal(deadlineState(extended, now, 'ada').phase, 'open');
    assert.equal(deadlineState(extended, now, 'bob').phase, 'closed');
  });
  it('has no countdown without a deadline', () => {
    assert.equal(deadlineState(settings({ deadline: null }), new Date()).phase, 'none');
  });
});

describe('parseEvents', () => {
  it('parses complete blocks and keeps the rest', () => {
    const data = JSON.stringify({ submission_id: 3, auto_status: 'pending' });
    const { messages, rest } = parseEvents(
      `: keepalive\n\nid: 7\nevent: submission\ndata: ${data}\n\nevent: resync\ndata: {}\n\nid: 8\nevent: sub`
    );
    assert.equal(messages.length, 2);
    assert.equal(messages[0].kind, 'submission');
    assert.equal(messages[0].id, '7');
    assert.equal(messages[1].kind, 'resync');
    assert.equal(rest, 'id: 8\nevent: sub');
  });
  it('accepts CRLF line ends and skips malformed data', () => {
    const { messages } = parseEvents('event: submission\r\ndata: {oops\r\n\r\n');
    assert.equal(messages.length, 0);
  });
});

describe('lateRules', () => {
  const deadline = new Date('2030-01-10T12:00:00Z').getTime();
  const late = [
    { period: 'P1D', scaling: 0.5 },
    { period: 'P1W', scaling: 0.25 }
  ];

  it('gives every period its absolute end, measured from the deadline', () => {
    const rows = lateRules(settings({ late_submission: late }), new Date(deadline - HOUR));
    assert.deepEqual(
      rows.map(r => [r.period, r.until?.toISOString() ?? null, r.scaling]),
      [
        ['On time', '2030-01-10T12:00:00.000Z', 1],
        ['Up to 1 day late', '2030-01-11T12:00:00.000Z', 0.5],
        ['Up to 1 week late', '2030-01-17T12:00:00.000Z', 0.25],
        ['Later', null, 0]
      ]
    );
    assert.deepEqual(rows[2].from, new Date(deadline + DAY)); // windows follow each other
    assert.deepEqual(rows.map(r => r.current), [true, false, false, false]);
  });
  it('marks the row that applies now', () => {
    const at = (ms: number) =>
      lateRules(settings({ late_submission: late }), new Date(ms)).findIndex(r => r.current);
    assert.equal(at(deadline), 1); // the deadline itself is already late, as on the service
    assert.equal(at(deadline + 2 * DAY), 2);
    assert.equal(at(deadline + 8 * DAY), 3);
  });
  it('counts from the student\'s extension', () => {
    const extended = settings({
      late_submission: late,
      extensions: [{ username: 'ada', deadline: '2030-01-12T12:00:00Z', extra_submissions: 0 }]
    });
    const rows = lateRules(extended, new Date(deadline), 'ada');
    assert.equal(rows[1].until?.toISOString(), '2030-01-13T12:00:00.000Z');
    assert.equal(rows[0].current, true);
  });
  it('is empty without late periods or without a deadline', () => {
    assert.deepEqual(lateRules(settings(), new Date(deadline)), []);
    const noDeadline = settings({ deadline: null, late_submission: late });
    assert.deepEqual(lateRules(noDeadline, new Date()), []);
  });
  it('names periods as people say them', () => {
    assert.equal(formatPeriod(2 * DAY), '2 days');
    assert.equal(formatPeriod(14 * DAY), '2 weeks');
    assert.equal(formatPeriod(12 * HOUR), '12 h');
    assert.equal(formatPeriod(DAY + 6 * HOUR), '1 day 6 h');
  });
});
