/**
 * The one way the front end talks to the server: `requestAPI` for JSON requests and
 * `streamEvents` for the service's event stream, both through the server extension at
 * `{baseUrl}grader_labextension/` (same origin: Jupyter's cookie and XSRF auth apply,
 * and the user's token never reaches the browser).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { parseEvents, StreamMessage } from './sse';

export const NAMESPACE = 'grader_labextension';

/** An error answer; `message` is the service's (or the extension's) explanation. */
export class GraderError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string
  ) {
    super(message);
    this.name = 'GraderError';
  }
}

function settings(): ServerConnection.ISettings {
  return ServerConnection.makeSettings();
}

function url(path: string): string {
  return URLExt.join(settings().baseUrl, NAMESPACE, path);
}

async function errorOf(response: Response): Promise<GraderError> {
  let body: { status?: number; error?: string; message?: string } = {};
  try {
    body = await response.json();
  } catch {
    // not JSON: a proxy in between answered
  }
  return new GraderError(
    response.status,
    body.error ?? response.statusText,
    body.message ?? `The server answered ${response.status}.`
  );
}

/** Send a request to the extension and return its JSON answer (or throw a GraderError). */
export async function requestAPI<T>(
  path: string,
  init: RequestInit & { json?: unknown } = {}
): Promise<T> {
  const { json, ...rest } = init;
  if (json !== undefined) {
    rest.body = JSON.stringify(json);
    rest.headers = { 'Content-Type': 'application/json', ...rest.headers };
  }
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url(path), rest, settings());
  } catch (error) {
    throw new GraderError(0, 'Network Error', `The Jupyter server cannot be reached: ${error}`);
  }
  if (!response.ok) {
    throw await errorOf(response);
  }
  const text = await response.text();
  return (text ? JSON.parse(text) : null) as T;
}

/**
 * Follow the service's event stream until `signal` aborts, reconnecting with backoff.
 * `fetch()` streaming instead of EventSource: it goes through Jupyter's own request
 * machinery (auth headers, XSRF), which EventSource cannot.
 */
export async function streamEvents(
  onMessage: (message: StreamMessage) => void,
  onState: (connected: boolean) => void,
  signal: AbortSignal,
  query: Record<string, string | number> = {}
): Promise<void> {
  // e.g. {lecture_id: 3}: staff get the events of every submission of that lecture,
  // not just their own
  const search = new URLSearchParams(
    Object.entries(query).map(([name, value]) => [name, String(value)])
  ).toString();
  const eventsUrl = url('api/events') + (search ? `?${search}` : '');
  let lastId: string | null = null;
  let delay = 1000;
  while (!signal.aborted) {
    try {
      const headers: Record<string, string> = { Accept: 'text/event-stream' };
      if (lastId) {
        headers['Last-Event-ID'] = lastId;
      }
      const response = await ServerConnection.makeRequest(
        eventsUrl,
        { headers, signal, cache: 'no-store' },
        settings()
      );
      if (!response.ok || !response.body) {
        throw await errorOf(response);
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
        console.warn('grader-labextension: no live updates:', error.message);
        onState(false);
        return; // 401/403 do not heal by retrying
      }
    }
    onState(false);
    await new Promise(resolve => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 30000);
  }
}
