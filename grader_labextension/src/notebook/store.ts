/**
 * A small observable value for the React widgets of one notebook, and the look-ups
 * shared by the notebook modes (cached per lab session).
 */
import { ISignal, Signal } from '@lumino/signaling';
import * as React from 'react';

import { GraderError, requestAPI } from '../api';
import { IExtensionInfo, ILecture } from '../types';

/** A value that widgets re-render on. */
export class Store<T> {
  constructor(private _value: T) {}

  get value(): T {
    return this._value;
  }

  get changed(): ISignal<this, T> {
    return this._changed;
  }

  set(value: T): void {
    this._value = value;
    this._changed.emit(value);
  }

  update(patch: Partial<T>): void {
    this.set({ ...this._value, ...patch });
  }

  private _changed = new Signal<this, T>(this);
}

/** The current value of `store`, re-rendering when it changes. */
export function useStore<T>(store: Store<T>): T {
  const [value, setValue] = React.useState(store.value);
  React.useEffect(() => {
    const onChange = (_: Store<T>, next: T): void => setValue(next);
    store.changed.connect(onChange);
    setValue(store.value);
    return () => {
      store.changed.disconnect(onChange);
    };
  }, [store]);
  return value;
}

/** The error text for the user: the service's message when there is one. */
export function describeError(error: unknown): string {
  return error instanceof GraderError ? error.message : String(error);
}

export interface IPermission {
  lecture_id: number;
  lecture_code: string;
  role: 'student' | 'tutor' | 'instructor';
}

let infoPromise: Promise<IExtensionInfo | null> | null = null;
let permissionsPromise: Promise<IPermission[] | null> | null = null;
let lecturesPromise: Promise<ILecture[]> | null = null;

/** `info` (lectures_lab_path, username), or null when the extension cannot answer. */
export function extensionInfo(): Promise<IExtensionInfo | null> {
  infoPromise ??= requestAPI<IExtensionInfo>('info').catch(error => {
    console.warn('grader-labextension: no notebook modes:', describeError(error));
    infoPromise = null; // try again with the next notebook
    return null;
  });
  return infoPromise;
}

/** The user's roles, or null if the service cannot be asked. */
export function permissions(): Promise<IPermission[] | null> {
  permissionsPromise ??= requestAPI<IPermission[]>('api/permissions').catch(() => {
    permissionsPromise = null;
    return null;
  });
  return permissionsPromise;
}

/** The id of the lecture with `code`; throws a GraderError naming the code if unknown. */
export async function lectureIdByCode(code: string): Promise<number> {
  lecturesPromise ??= requestAPI<ILecture[]>('api/lectures').catch(error => {
    lecturesPromise = null;
    throw error;
  });
  const lecture = (await lecturesPromise).find(l => l.code === code);
  if (!lecture) {
    throw new GraderError(
      404,
      'Not Found',
      `You have no lecture with code "${code}": this notebook is in a folder of a lecture you are not a member of.`
    );
  }
  return lecture.id;
}
