/**
 * Server-Sent Events parsing (pure: unit-tested without a browser).
 */
import { ISubmissionEvent } from './types';

/** What one Server-Sent Events block means to us. */
export type StreamMessage =
  | { kind: 'submission'; event: ISubmissionEvent; id: string | null }
  | { kind: 'resync'; id: string | null };

/**
 * Split a Server-Sent Events buffer into complete blocks; returns the messages and the
 * incomplete rest. Comments (keepalives) and unknown events are skipped.
 */
export function parseEvents(buffer: string): { messages: StreamMessage[]; rest: string } {
  const messages: StreamMessage[] = [];
  const normalized = buffer.replace(/\r\n?/g, '\n');
  const blocks = normalized.split('\n\n');
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    let event = 'message';
    let id: string | null = null;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (!line || line.startsWith(':')) {
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') {
        event = value;
      } else if (field === 'data') {
        data.push(value);
      } else if (field === 'id') {
        id = value;
      }
    }
    if (event === 'submission' && data.length) {
      try {
        messages.push({ kind: 'submission', event: JSON.parse(data.join('\n')), id });
      } catch {
        // a malformed event is skipped, the next resync repairs the view
      }
    } else if (event === 'resync') {
      messages.push({ kind: 'resync', id });
    }
  }
  return { messages, rest };
}
