import { maskUrl } from '../../src-shared/settings';
import { useDashboard } from '../context';
import { formatClock } from '../format';

const SHOWN = 12;

export function Timeline() {
  const timeline = useDashboard((s) => s.state?.timeline);
  const targets = useDashboard((s) => s.state?.targets.targets);
  if (!timeline) return null;
  const recent = timeline.slice(-SHOWN).reverse();
  const names = new Map((targets ?? []).map((t) => [t.url, t.name]));
  return (
    <section className="panel" aria-labelledby="timeline-title">
      <h2 id="timeline-title">Recent events</h2>
      {recent.length === 0 ? (
        <p className="empty">Nothing yet.</p>
      ) : (
        <ol className="timeline" data-testid="timeline">
          {recent.map((e, i) => (
            <li key={`${e.ts}:${i}`} className={`ev ev-${e.kind}`}>
              <time dateTime={new Date(e.ts).toISOString()}>{formatClock(e.ts)}</time>
              <span className="ev-kind">{e.kind.replace(/-/g, ' ')}</span>
              {e.url && (
                <span className="ev-url">
                  {names.get(e.url) ? `${names.get(e.url)} (${maskUrl(e.url)})` : maskUrl(e.url)}
                </span>
              )}
              <span className="ev-detail">{e.detail}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
