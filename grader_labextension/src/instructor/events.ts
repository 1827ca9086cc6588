/**
 * The event stream of a whole lecture, for tutors and instructors: the service sends a
 * user only their own submissions' events unless `?lecture_id=` names lectures they
 * teach. Same reconnecting loop as `streamEvents` in ../api.ts (which has no query).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { GraderError, NAMESPACE } from '../api';
import { parseEvents, StreamMessage } from '../sse';

/** Follow the events of every submission of `lectureId` until `signal` aborts. */
export async function streamLectureEvents(
  lectureId: number,
  onMessage: (message: StreamMessage) => void,
  onState: (connected: boolean) => void,
  signal: AbortSignal
): Promise<void> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, NAMESPACE, 'api/events') + `?lecture_id=${lectureId}`;
  let lastId: string | null = null;
  let delay = 1000;
  while (!signal.aborted) {
    try {
      const headers: Record<string, string> = { Accept: 'text/event-stream' };
      if (lastId) {
        headers['Last-Event-ID'] = lastId;
      }
      const response = await ServerConnection.makeRequest(
        url,
        { headers, signal, cache: 'no-store' },
        settings
      );
      if (!response.ok || !response.body) {
        let message = `The event stream answered ${response.status}.`;
        try {
          message = (await response.json()).message ?? message;
        } catch {
          // not JSON
        }
        throw new GraderError(response.status, response.statusText, message);
      }
      onState(true);
      delay = 1000;
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          break;
        }
        buffer += decoder.decode(value, { stream: true });
        const parsed = parseEvents(buffer);
        buffer = parsed.rest;
        for (const message of parsed.messages) {
          lastId = message.id ?? lastId;
          onMessage(message);
        }
      }
    } catch (error) {
      if (signal.aborted) {
        break;
      }
      if (error instanceof GraderError && error.status >= 400 && error.status < 500) {
        console.warn('grader-labextension: no live updates for the lecture:', error.message);
        onState(false);
        return; // 403/404 do not heal by retrying
      }
    }
    onState(false);
    await new Promise(resolve => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 30000);
  }
}
