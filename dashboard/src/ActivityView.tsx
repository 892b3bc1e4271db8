import type { PollView, Session } from "./api";
import { errorKindWords, issueName, pollResultWords, sentence } from "./format";
import { RelativeTime } from "./time";

/** How a new session's issue reads in the activity: its identifier when the page knows the session
 * (#42, ENG-123, PROJ-123), else the number a GitHub canonical id ends in, else the canonical id. */
export function newSessionName(issueId: string, known: Map<string, Session>): string {
  const session = known.get(issueId);
  if (session) return issueName(session);
  const github = /#(\d+)$/.exec(issueId);
  return github ? `#${github[1]}` : issueId;
}

/** The project's recent polls, newest first: what `intake local` prints per tick, kept. */
export function ActivityView({ polls, sessions, now, failure }: { polls: PollView[] | null; sessions: Session[]; now: Date; failure?: string | null }) {
  const known = new Map(sessions.map((s) => [s.issueId, s]));
  return (
    <section aria-labelledby="activity-title" className="activity">
      <h2 id="activity-title" className="visually-hidden">
        Recent polls
      </h2>
      <p className="muted">
        Every poll that changed something is kept, and a quiet one (all 304s) at least every 10 minutes; kept for 7 days. Newest first.
      </p>
      {failure && (
        <p className="error" role="alert">
          {failure}
        </p>
      )}
      {polls === null && !failure && <p>Loading the recent polls…</p>}
      {polls && polls.length === 0 && <p className="empty">No polls recorded yet. The schedule polls every minute while intake is on.</p>}
      {polls && polls.length > 0 && (
        <table aria-label="Recent polls" className="polls">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Result</th>
              <th scope="col" className="num">Requests</th>
              <th scope="col" className="num">Pages</th>
              <th scope="col" className="num">304s</th>
              <th scope="col">New sessions</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {polls.map((p, i) => (
              <tr key={`${p.at}-${i}`}>
                <td>
                  <RelativeTime at={p.at} now={now} />
                </td>
                <td>
                  <span className={`badge poll-${p.result}`}>{pollResultWords(p.result)}</span>
                  {(p.backlogRecorded ?? 0) > 0 && <span className="muted"> · {p.backlogRecorded} to backlog</span>}
                  {(p.heldBack ?? 0) > 0 && <span className="muted"> · {p.heldBack} held back</span>}
                </td>
                <td className="num">{p.requests ?? 0}</td>
                <td className="num">{p.pages ?? 0}</td>
                <td className="num">{p.notModified ?? 0}</td>
                <td>
                  {p.newSessions && p.newSessions.length > 0 ? (
                    <ul className="chips" aria-label={`${p.newSessions.length} new session${p.newSessions.length === 1 ? "" : "s"}`}>
                      {p.newSessions.map((id) => (
                        <li key={id} className="identifier" title={id}>
                          {newSessionName(id, known)}
                        </li>
                      ))}
                    </ul>
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
                <td className={p.error ? "error-text" : undefined}>
                  {p.error ? (
                    <>
                      {errorKindWords(p.errorKind) && <span className="muted">{errorKindWords(p.errorKind)}: </span>}
                      {sentence(p.error)}
                    </>
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
