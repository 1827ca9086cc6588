/**
 * Attaching widgets to the cells of a notebook and noticing changes: shared by creation
 * mode and manual grading mode.
 */
import { ReactWidget } from '@jupyterlab/apputils';
import { Cell, ICellModel } from '@jupyterlab/cells';
import { Notebook } from '@jupyterlab/notebook';
import { IDisposable } from '@lumino/disposable';
import { PanelLayout, Widget } from '@lumino/widgets';
import * as React from 'react';

import { ICellInfo } from './validator.js';

/**
 * The notebook tools' IDisposable: `dispose()` marks the object disposed and then runs
 * `onDispose()`, once however often it is called.
 */
export abstract class DisposableBase implements IDisposable {
  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this.onDispose();
  }

  /** Release what the object holds (runs once, with `isDisposed` already true). */
  protected abstract onDispose(): void;

  private _disposed = false;
}

/**
 * Keeps one widget (from `factory`, or none if it returns null) at the top of every cell
 * of a notebook, also for cells added later. The notebook renders cells lazily, so a
 * widget is inserted once its cell is ready (the cell builds its own children first).
 */
export class CellAttachments extends DisposableBase {
  constructor(
    private readonly notebook: Notebook,
    private readonly factory: (cell: Cell) => Widget | null
  ) {
    super();
    notebook.model?.cells.changed.connect(this.scheduleSync, this);
    this.sync();
  }

  protected onDispose(): void {
    this.notebook.model?.cells.changed.disconnect(this.scheduleSync, this);
    for (const widget of this.attached.values()) {
      widget.dispose();
    }
    this.attached.clear();
  }

  /** The widget attached to `cell`, if any. */
  widgetOf(cell: Cell): Widget | undefined {
    return this.attached.get(cell);
  }

  private scheduleSync(): void {
    // the notebook creates the cell widgets in its own handler of the same signal
    setTimeout(() => this.sync(), 0);
  }

  private sync(): void {
    if (this.isDisposed) {
      return;
    }
    const current = new Set<Cell>(this.notebook.widgets);
    for (const [cell, widget] of this.attached) {
      if (!current.has(cell) || cell.isDisposed) {
        widget.dispose();
        this.attached.delete(cell);
      }
    }
    for (const cell of this.notebook.widgets) {
      if (this.attached.has(cell) || this.pending.has(cell)) {
        continue;
      }
      this.pending.add(cell);
      void cell.ready.then(() => {
        this.pending.delete(cell);
        if (this.isDisposed || cell.isDisposed || this.attached.has(cell)) {
          return;
        }
        const widget = this.factory(cell);
        if (widget) {
          (cell.layout as PanelLayout).insertWidget(0, widget);
          this.attached.set(cell, widget);
        }
      });
    }
  }

  private readonly attached = new Map<Cell, Widget>();
  private readonly pending = new Set<Cell>();
}

/**
 * Calls `callback` (debounced) whenever a cell is added, removed or moved, or the
 * source, type or metadata of a cell changes.
 */
export class NotebookChanges extends DisposableBase {
  constructor(
    private readonly notebook: Notebook,
    private readonly callback: () => void,
    private readonly delay = 250
  ) {
    super();
    notebook.model?.cells.changed.connect(this.onCellsChanged, this);
    this.onCellsChanged();
  }

  protected onDispose(): void {
    clearTimeout(this.timer);
    this.notebook.model?.cells.changed.disconnect(this.onCellsChanged, this);
    for (const model of this.watched) {
      model.contentChanged.disconnect(this.schedule, this);
      model.metadataChanged.disconnect(this.schedule, this);
    }
    this.watched.clear();
  }

  private onCellsChanged(): void {
    const models = new Set<ICellModel>();
    const cells = this.notebook.model?.cells;
    for (let i = 0; cells && i < cells.length; i++) {
      models.add(cells.get(i));
    }
    for (const model of this.watched) {
      if (!models.has(model)) {
        model.contentChanged.disconnect(this.schedule, this);
        model.metadataChanged.disconnect(this.schedule, this);
        this.watched.delete(model);
      }
    }
    for (const model of models) {
      if (!this.watched.has(model)) {
        model.contentChanged.connect(this.schedule, this);
        model.metadataChanged.connect(this.schedule, this);
        this.watched.add(model);
      }
    }
    this.schedule();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (!this.isDisposed) {
        this.callback();
      }
    }, this.delay);
  }

  private readonly watched = new Set<ICellModel>();
  private timer: ReturnType<typeof setTimeout> | undefined;
}

/** What the validator needs of every cell of the notebook. */
export function cellInfos(notebook: Notebook): ICellInfo[] {
  const infos: ICellInfo[] = [];
  const cells = notebook.model?.cells;
  for (let i = 0; cells && i < cells.length; i++) {
    const model = cells.get(i);
    infos.push({
      cellType: model.type,
      source: model.sharedModel.getSource(),
      nbgrader: model.getMetadata('nbgrader')
    });
  }
  return infos;
}

/** Select the cell at `index`, scroll it into view and focus it (for keyboard users). */
export function revealCell(notebook: Notebook, index: number): void {
  if (index < 0 || index >= notebook.widgets.length) {
    return;
  }
  notebook.activeCellIndex = index;
  notebook.mode = 'command';
  void notebook.scrollToItem(index, 'center').then(() => {
    notebook.activeCell?.node.focus();
  });
}

/**
 * A React widget for a notebook's content header that tells its Lumino box layout how
 * tall it is: the layout sizes children by their CSS min-height, and React content
 * (a problems list that grows, a status line) changes height after the layout measured.
 */
export class FittedReactWidget extends ReactWidget {
  constructor(private readonly content: () => JSX.Element) {
    super();
  }

  protected render(): JSX.Element {
    return <div ref={this.observe}>{this.content()}</div>;
  }

  dispose(): void {
    this.observer?.disconnect();
    super.dispose();
  }

  private readonly observe = (element: HTMLDivElement | null): void => {
    this.observer?.disconnect();
    this.observer = null;
    if (element) {
      this.observer = new ResizeObserver(() => this.fitTo(element.offsetHeight));
      this.observer.observe(element);
    }
  };

  private fitTo(height: number): void {
    if (height === this.height || this.isDisposed) {
      return;
    }
    this.height = height;
    this.node.style.minHeight = `${height}px`;
    this.parent?.fit();
  }

  private observer: ResizeObserver | null = null;
  private height = -1;
}
