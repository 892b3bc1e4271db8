import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { ActivityView } from "./ActivityView";
import { PickupLatencyChart, SessionsPerDayChart } from "./Charts";
import { ApiError, getProject, listAllSessions, listPolls, releaseSession, SESSIONS_CAP, type Acknowledgement, type PollView, type Project, type Session } from "./api";
import { acknowledgementWords, ackTroubled, duration, issueName, pullRequestName, sessionStatusWords } from "./format";
import { HealthHeader } from "./HealthHeader";
import { IdentifierChip } from "./IdentifierChip";
import { SessionsTable } from "./SessionsTable";
import { SettingsPanel } from "./SettingsPanel";
import { Dialog, Tabs, useNow, When } from "./ui";

export type ProjectTab = "sessions" | "activity" | "settings";

const TABS: { id: ProjectTab; label: string }[] = [
  { id: "sessions", label: "Sessions" },
  { id: "activity", label: "Activity" },
  { id: "settings", label: "Settings" },
];

/** How often the page reads the project, its sessions and its polls again. */
const REFRESH_MS = 15_000;

/** The project page, health first: the health header, then the tabs Sessions (the default),
 * Activity and Settings; the URL's hash remembers the tab (#/projects/ID/activity). */
export function ProjectView({ id, tab: routed = "sessions" }: { id: string; tab?: ProjectTab }) {
  const [project, setProject] = useState<Project | null>(null);
  const [failure, setFailure] = useState<ApiError | null>(null);
  // A reload starts the settings form again from the stored config; a save keeps it (and the focus).
  const [reloads, setReloads] = useState(0);
  const [tab, setTab] = useState<ProjectTab>(routed);
  const [sessions, setSessions] = useState<Session[] | null>(null);
  const [capped, setCapped] = useState(false);
  const [sessionsFailure, setSessionsFailure] = useState<string | null>(null);
  const [polls, setPolls] = useState<PollView[] | null>(null);
  const [pollsFailure, setPollsFailure] = useState<string | null>(null);
  const [updated, setUpdated] = useState<Date | null>(null);
  const now = useNow();
  const refreshing = useRef(false);
  const sessionsShown = useRef(false);

  useEffect(() => setTab(routed), [routed]);

  const reload = useCallback(async () => {
    try {
      setProject(await getProject(id));
      setReloads((n) => n + 1);
      setFailure(null);
    } catch (e) {
      setFailure(e instanceof ApiError ? e : new ApiError(0, String(e)));
    }
  }, [id]);

  const loadSessions = useCallback(async () => {
    try {
      // The first load shows each page as it comes (the first row after one read); a refresh
      // swaps the whole list at once, so the table never shrinks while it reads.
      const shown = sessionsShown.current;
      const all = await listAllSessions(id, SESSIONS_CAP, shown ? undefined : setSessions);
      setSessions(all.items);
      sessionsShown.current = true;
      setCapped(all.capped);
      setSessionsFailure(null);
    } catch (e) {
      setSessionsFailure(e instanceof ApiError ? e.message : String(e));
    }
  }, [id]);

  const loadPolls = useCallback(async () => {
    try {
      setPolls(await listPolls(id));
      setPollsFailure(null);
    } catch (e) {
      setPollsFailure(e instanceof ApiError && e.status === 404 ? "This API keeps no activity yet." : e instanceof ApiError ? e.message : String(e));
    }
  }, [id]);

  /** The page's polling: the project (its health), its sessions and its polls, every 15 s. */
  const refresh = useCallback(async () => {
    if (refreshing.current) return; // the last refresh is still running: skip this one
    refreshing.current = true;
    try {
      await Promise.all([
        getProject(id).then(
          (p) => setProject(p),
          () => undefined,
        ),
        loadSessions(),
        loadPolls(),
      ]);
      setUpdated(new Date());
    } finally {
      refreshing.current = false;
    }
  }, [id, loadSessions, loadPolls]);

  useEffect(() => {
    void reload();
    void loadSessions().then(() => setUpdated(new Date()));
    void loadPolls();
    const timer = setInterval(() => void refresh(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload, loadSessions, loadPolls, refresh]);

  const select = (next: string) => {
    setTab(next as ProjectTab);
    const route = `#/projects/${encodeURIComponent(id)}${next === "sessions" ? "" : `/${next}`}`;
    if (window.location.hash !== route && window.location.hash.startsWith(`#/projects/`)) window.history.replaceState(null, "", route);
  };

  if (failure && !project) {
    return (
      <main>
        <p className="error" role="alert">
          {failure.status === 404 ? `There is no project ${id}.` : failure.message} <a href="#/">Back to the projects</a>
        </p>
      </main>
    );
  }
  if (!project) return <main><p>Loading {id}…</p></main>;
  return (
    <main className="project-page">
      <p className="crumbs">
        <a href="#/">← Projects</a>
      </p>
      <HealthHeader project={project} lastPoll={polls?.[0] ?? null} now={now} onPolled={setProject} />
      <div className="tab-bar">
        <Tabs label="Project views" tabs={TABS} selected={tab} onSelect={select} />
        <span className="muted updated" aria-live="off">
          {updated ? `updated ${duration(now.getTime() - updated.getTime())} ago` : "loading…"}
        </span>
      </div>
      <div role="tabpanel" id="tabpanel-sessions" aria-labelledby="tab-sessions" hidden={tab !== "sessions"} tabIndex={0}>
        {tab === "sessions" && <SessionsPanel projectId={project.id} intakeOn={Boolean(project.trackerIntake?.enabled)} sessions={sessions} capped={capped} failure={sessionsFailure} now={now} onChanged={loadSessions} />}
      </div>
      <div role="tabpanel" id="tabpanel-activity" aria-labelledby="tab-activity" hidden={tab !== "activity"} tabIndex={0}>
        {tab === "activity" && <ActivityView polls={polls} sessions={sessions ?? []} now={now} failure={pollsFailure} />}
      </div>
      <div role="tabpanel" id="tabpanel-settings" aria-labelledby="tab-settings" hidden={tab !== "settings"} tabIndex={0}>
        {tab === "settings" && <SettingsPanel project={project} reloads={reloads} onSaved={setProject} onReload={reload} />}
      </div>
    </main>
  );
}

/** The Sessions tab: the table (a row opens the inspector, where a session is released), then the charts. */
function SessionsPanel({ projectId, intakeOn, sessions, capped, failure, now, onChanged }: { projectId: string; intakeOn: boolean; sessions: Session[] | null; capped: boolean; failure: string | null; now: Date; onChanged: () => Promise<void> }) {
  const [releaseFailure, setReleaseFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [releasing, setReleasing] = useState<Session | null>(null);
  const [inspecting, setInspecting] = useState<Session | null>(null);
  // The inspector shows the session as the last refresh read it.
  const inspected = inspecting ? (sessions?.find((s) => s.issueId === inspecting.issueId) ?? inspecting) : null;

  return (
    <section aria-labelledby="sessions-title" className="sessions-panel">
      <h2 id="sessions-title" className="visually-hidden" tabIndex={-1}>
        Sessions
      </h2>
      {failure && (
        <p className="error" role="alert">
          {failure}
        </p>
      )}
      {releaseFailure && (
        <p className="error" role="alert">
          {releaseFailure}
        </p>
      )}
      {capped && <p className="muted">Showing the newest {SESSIONS_CAP.toLocaleString("en-US")} sessions: the project has more. The CLI lists them all (<code>intake project sessions {projectId}</code>).</p>}
      {sessions === null && !failure && <p>Loading the sessions…</p>}
      {sessions && sessions.length === 0 && (
        <p className="empty">
          {intakeOn ? "No sessions yet. Matching issues start one on the next poll (every minute)." : "No sessions. Intake is off: switch it on in Settings, and matching issues start sessions within a minute."}
        </p>
      )}
      {sessions && sessions.length > 0 && <SessionsTable sessions={sessions} now={now} onOpen={setInspecting} />}
      {sessions && sessions.length > 0 && <SessionCharts sessions={sessions} now={now} />}
      {releasing && (
        <Dialog title={`Release ${releasing.issueId}?`} onClose={() => setReleasing(null)}>
          <p>
            {releasing.status === "backlog"
              ? "The issue leaves the backlog: it will get a session on the next poll if it still matches the rule."
              : "The claim is released, and the issue will get a new session on the next poll if it still matches the rule."}
          </p>
          <div className="actions">
            <button type="button" onClick={() => setReleasing(null)}>
              Cancel
            </button>
            <button
              type="button"
              className="primary"
              disabled={busy}
              onClick={async () => {
                setBusy(true);
                setReleaseFailure(null);
                try {
                  await releaseSession(projectId, releasing.issueId);
                } catch (e) {
                  setReleaseFailure(`Release of ${releasing.issueId} failed: ${e instanceof ApiError ? e.message : String(e)}`);
                }
                setBusy(false);
                setReleasing(null);
                await onChanged();
                document.getElementById("sessions-title")?.focus();
              }}
            >
              Release
            </button>
          </div>
        </Dialog>
      )}
      {inspected && (
        <Inspector
          session={inspected}
          onClose={() => setInspecting(null)}
          onRelease={() => {
            setInspecting(null);
            setReleasing(inspected);
          }}
        />
      )}
    </section>
  );
}

/** The charts under the table (Charts.tsx): drawn again once a minute, not each second. */
function SessionCharts({ sessions, now }: { sessions: Session[]; now: Date }) {
  const minute = Math.floor(now.getTime() / 60_000);
  const at = useMemo(() => new Date(minute * 60_000), [minute]);
  return (
    <div className="charts">
      <SessionsPerDayChart sessions={sessions} now={at} />
      <PickupLatencyChart sessions={sessions} />
    </div>
  );
}

/** A session in full: the issue, the claim, the session and what its backend reported, the acknowledgement, the history; and Release. */
function Inspector({ session, onClose, onRelease }: { session: Session; onClose: () => void; onRelease: () => void }) {
  return (
    <Dialog title={session.issueId} onClose={onClose}>
      <dl className="facts">
        <dt>Issue</dt>
        <dd>
          <a className="canonical" href={session.url} title={`intake issue ${issueName(session)}: ${session.title}`}>
            {session.issueId}
          </a>
          <IdentifierChip issue={session} />
        </dd>
        <dt>Title</dt>
        <dd>
          <a href={session.url}>{issueName(session)}</a> {session.title}
        </dd>
        <dt>Status</dt>
        <dd>
          <span className={`badge badge-${session.status}`}>{session.status}</span>
        </dd>
        <dt>Attempts</dt>
        <dd>{session.attempts}</dd>
        <dt>Generation</dt>
        <dd>{session.generation}</dd>
        <dt>Claimed</dt>
        <dd>
          <When at={session.claimedAt} />
        </dd>
        <dt>Updated</dt>
        <dd>
          <When at={session.updatedAt} never="—" />
        </dd>
        <dt>Last error</dt>
        <dd>{session.reason ?? "none"}</dd>
        <dt>Session</dt>
        <dd>{session.sessionRef ? <SessionLink session={session} /> : "none yet"}</dd>
        <dt>Session status</dt>
        <dd>{session.sessionStatus ? sessionStatusWords(session.sessionStatus) : "none reported"}</dd>
        <dt>Pull request</dt>
        <dd>
          <PullRequest url={session.prUrl} fallback="none" />
        </dd>
        {session.acknowledgement && (
          <>
            <dt>Acknowledgement</dt>
            <dd>
              <AckBadge ack={session.acknowledgement} />{" "}
              <span className="muted">
                {session.acknowledgement.attempts} attempt{session.acknowledgement.attempts === 1 ? "" : "s"} · updated <When at={session.acknowledgement.updatedAt} />
                {session.acknowledgement.nextAttemptAt && (
                  <>
                    {" "}
                    · next try <When at={session.acknowledgement.nextAttemptAt} />
                  </>
                )}
              </span>
              {session.acknowledgement.detail && <p className={ackTroubled(session.acknowledgement) ? "warning ack-detail" : "muted ack-detail"}>{session.acknowledgement.detail}</p>}
            </dd>
          </>
        )}
      </dl>
      <h3>Status history</h3>
      {session.statusHistory && session.statusHistory.length > 0 ? (
        <ol className="history" aria-label="status history, oldest first">
          {session.statusHistory.map((h, i) => (
            <li key={`${h.at}-${i}`}>
              <When at={h.at} /> <span className={`badge session-${h.status}`}>{sessionStatusWords(h.status)}</span>
              {h.prUrl && (
                <>
                  {" "}
                  <PullRequest url={h.prUrl} />
                </>
              )}
            </li>
          ))}
        </ol>
      ) : (
        <p className="muted">The session's backend has reported no status yet.</p>
      )}
      {/* Close first: the focus lands on it when the inspector opens (Enter on a row), never on Release. */}
      <div className="actions">
        <button type="button" onClick={onClose}>
          Close
        </button>
        {session.status !== "released" && (
          <button type="button" onClick={onRelease} aria-label={`release ${session.issueId}`}>
            Release
          </button>
        )}
      </div>
    </Dialog>
  );
}

/** The session's reference, linked to its page when the backend gave one (`sessionUrl`, https). */
export function SessionLink({ session }: { session: Session }) {
  const url = session.sessionUrl ?? (/^https:\/\//.test(session.sessionRef ?? "") ? session.sessionRef : null);
  return url ? (
    <a href={url}>
      <code>{session.sessionRef}</code>
    </a>
  ) : (
    <code>{session.sessionRef}</code>
  );
}

/** "comment done", a link to the comment when there is one (https only); refused and failed as a warning, GitHub's words as its title. */
function AckBadge({ ack }: { ack: Acknowledgement }) {
  const className = `badge ack-${ack.state}`;
  const words = acknowledgementWords(ack);
  if (ack.url && /^https:\/\//.test(ack.url)) {
    return (
      <a className={className} href={ack.url} title={ack.detail ?? undefined}>
        {words}
      </a>
    );
  }
  return (
    <span className={className} title={ack.detail ?? undefined}>
      {words}
    </span>
  );
}

/** A pull request as a link (only an https pull request URL is ever a link). */
function PullRequest({ url, fallback = null }: { url: string | null | undefined; fallback?: string | null }) {
  const name = pullRequestName(url);
  if (!url) return <>{fallback}</>;
  return name ? <a href={url}>pull request {name}</a> : <code>{url}</code>;
}
