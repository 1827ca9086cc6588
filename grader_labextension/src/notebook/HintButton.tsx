/**
 * Students' side of the hints written in creation mode (`metadata.hint`, kept in the
 * released notebook): a "Show hint" button above the cell that reveals the hint.
 */
import { ReactWidget } from '@jupyterlab/apputils';
import { Cell } from '@jupyterlab/cells';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

function Hint(props: { text: string }): JSX.Element {
  const [open, setOpen] = React.useState(false);
  const id = React.useId();
  return (
    <div className="jp-grader-hint-box">
      <button
        type="button"
        className="jp-grader-link-button"
        aria-expanded={open}
        aria-controls={id}
        onClick={() => setOpen(!open)}
      >
        {open ? 'Hide hint' : 'Show hint'}
      </button>
      <div id={id} className="jp-grader-hint-text" hidden={!open}>
        {props.text}
      </div>
    </div>
  );
}

/** The hint widget of a cell, or null if the instructor gave it no hint. */
export function hintWidget(cell: Cell): Widget | null {
  const hint = cell.model.getMetadata('hint');
  if (typeof hint !== 'string' || !hint.trim()) {
    return null;
  }
  const widget = ReactWidget.create(<Hint text={hint} />);
  widget.addClass('jp-grader-hint-widget');
  return widget;
}
