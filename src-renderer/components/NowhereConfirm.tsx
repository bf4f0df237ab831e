// Settings that would send telemetry nowhere are refused by the relay unless forced: the page
// says so in the relay's words and offers the force as a separate, deliberate click.

export function NowhereConfirm({ text, pending, onConfirm, onCancel }: { text: string; pending: boolean; onConfirm: () => void; onCancel: () => void }) {
  return (
    <div className="banner banner-error nowhere" data-testid="nowhere-confirm" role="alert">
      <div className="banner-body">
        <strong>Nothing was changed.</strong> {text} The relay would then show Critical until the settings send somewhere again.
      </div>
      <div className="nowhere-actions">
        <button type="button" className="danger-quiet" data-testid="nowhere-apply" disabled={pending} onClick={onConfirm}>
          Apply anyway
        </button>
        <button type="button" data-testid="nowhere-cancel" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}
