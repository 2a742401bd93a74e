import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';

/**
 * A modal confirmation (the native <dialog>: focus moves in and stays in, Escape cancels).
 * `onConfirm` gets the form's fields.
 */
export function ConfirmDialog(props: {
  title: string;
  confirmLabel: string;
  children?: ComponentChildren;
  onConfirm(form: FormData): void;
  onCancel(): void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const confirmed = useRef(false);
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      onClose={() => {
        if (!confirmed.current) props.onCancel();
      }}
    >
      <form
        onSubmit={(event) => {
          event.preventDefault();
          confirmed.current = true;
          const form = new FormData(event.currentTarget);
          ref.current?.close();
          props.onConfirm(form);
        }}
      >
        <h2 id={titleId}>{props.title}</h2>
        {props.children}
        <div class="buttons">
          <button type="button" onClick={() => ref.current?.close()}>
            Cancel
          </button>
          <button type="submit" class="primary">
            {props.confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
