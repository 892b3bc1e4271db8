import { useCallback, useEffect, useState } from "react";
import { ApiError, getProject, listSessions, pollProject, previewRule, releaseSession, saveConfig, type Acknowledgement, type Backlog, type Preview, type PreviewIssue, type Project, type Session } from "./api";
import { acknowledgementWords, ackTroubled, chipState, duration, failureKindWords, issueName, pullRequestName, repoUrl, sentence, sessionStatusWords, shortened } from "./format";
import { draftOf, intakeOf, IntakeFields, problemsOf, startsInWords, type Draft } from "./IntakeFields";
import { Dialog, useNow, When } from "./ui";

const STATUSES = ["claimed", "enqueued", "launching", "launched", "failed", "released", "backlog"] as const;

export function ProjectView({ id }: { id: string }) {
  const [project, setProject] = useState<Project | null>(null);
  const [failure, setFailure] = useState<ApiError | null>(null);
  // A reload starts the form again from the stored config; a save keeps it (and the focus).
  const [reloads, setReloads] = useState(0);

  const reload = useCallback(async () => {
    try {
      setProject(await getProject(id));
      setReloads((n) => n + 1);
      setFailure(null);
    } catch (e) {
      setFailure(e instanceof ApiError ? e : new ApiError(0, String(e)));
    }
  }, [id]);

  useEffect(() => {
    void reload();
  }, [reload]);

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
    <main>
      <p>
        <a href="#/">← Projects</a>
      </p>
      <header className="page-header">
        <h1>
          {project.id}
          {project.name && <span className="muted"> · {project.name}</span>}
        </h1>
        <span className={`state state-${chipState(project).replace(" ", "-")}`}>{chipState(project)}</span>
      </header>
      <Polling project={project} onPolled={setProject} />
      <IntakeCard key={`${project.id}:${reloads}`} project={project} onSaved={setProject} onReload={reload} />
      <Sessions projectId={project.id} />
    </main>
  );
}

/** How polling goes: the last change, a backoff and the failure's kind, the pickup (from an
 * issue's update on GitHub to its session's launch), and "Retry now" (in backoff) or "Poll now",
 * which clears the backoff so the next tick polls the project. */
export function Polling({ project, onPolled }: { project: Project; onPolled: (p: Project) => void }) {
  const now = useNow();
  const [busy, setBusy] = useState(false);
  const [said, setSaid] = useState<string | null>(null);
  const [failure, setFailure] = useState<ApiError | null>(null);
  const intake = project.intake;
  const backoffLeft = intake.backoffUntil ? new Date(intake.backoffUntil).getTime() - now.getTime() : 0;
  const inBackoff = backoffLeft > 0;
  const kind = failureKindWords(intake.failureKind);
  const label = inBackoff ? "Retry now" : "Poll now";

  const poll = async () => {
    setBusy(true);
    setSaid(null);
    setFailure(null);
    try {
      onPolled(await pollProject(project.id));
      setSaid(`${inBackoff ? "Backoff cleared: p" : "P"}olled on the next tick (within a minute).`);
    } catch (e) {
      setFailure(e instanceof ApiError ? e : new ApiError(0, String(e)));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card" aria-labelledby="polling-title">
      <h2 id="polling-title">Polling</h2>
      <dl className="facts">
        <dt>Last change</dt>
        <dd><When at={intake.lastChangeAt} /></dd>
        {inBackoff && (
          <>
            <dt>Backoff</dt>
            <dd>
              polls again in <span className="countdown">{duration(backoffLeft)}</span>
              {kind && <span className="muted"> · {kind}</span>}
            </dd>
          </>
        )}
        {intake.lastError && (
          <>
            <dt>Last error</dt>
            <dd className="error-text">
              {sentence(intake.lastError)}
              {!inBackoff && kind && <span className="muted"> ({kind})</span>}
            </dd>
          </>
        )}
        <dt>Pickup</dt>
        <dd>
          {project.pickup ? (
            <>
              last {duration(project.pickup.lastSeconds * 1000)}
              <span className="muted">
                {" "}
                · p50 {duration(project.pickup.p50Seconds * 1000)} · p95 {duration(project.pickup.p95Seconds * 1000)} over {project.pickup.launches} recent launch{project.pickup.launches === 1 ? "" : "es"}
              </span>
            </>
          ) : (
            <span className="muted">no launch yet</span>
          )}
        </dd>
        {intake.deferredSince && (
          <>
            <dt>Waiting</dt>
            <dd>for its credential's request budget since <When at={intake.deferredSince} /></dd>
          </>
        )}
      </dl>
      {project.trackerIntake?.enabled && !intake.configError ? (
        <div className="actions">
          <button type="button" disabled={busy} onClick={() => void poll()}>
            {label}
          </button>
          <span role="status" aria-live="polite">
            {said}
          </span>
        </div>
      ) : (
        <p className="muted">Intake is off{intake.configError ? " or its stored config is invalid" : ""}: nothing is polled.</p>
      )}
      {failure && (
        <p className="error" role="alert">
          {label}: {failure.message}
        </p>
      )}
    </section>
  );
}

function IntakeCard({ project, onSaved, onReload }: { project: Project; onSaved: (p: Project) => void; onReload: () => Promise<void> }) {
  const [draft, setDraft] = useState<Draft>(draftOf(project.trackerIntake));
  const [refused, setRefused] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const [preview, setPreview] = useState<(Preview & { backlog: Backlog }) | null>(null);
  const [previewFailure, setPreviewFailure] = useState<ApiError | null>(null);
  const [previewing, setPreviewing] = useState(false);
  const problems = problemsOf(draft);
  const repo = draft.repo.trim() || project.intake.repo;
  const url = repoUrl(repo);

  const save = async () => {
    setBusy(true);
    setRefused(null);
    setSaved(false);
    try {
      const next = await saveConfig(project.id, { name: project.name, gitOrigin: project.gitOrigin, trackerIntake: intakeOf(draft) }, project.version);
      onSaved(next);
      setSaved(true);
    } catch (e) {
      setRefused(e instanceof ApiError ? e : new ApiError(0, String(e)));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card" aria-labelledby="intake-title">
      <h2 id="intake-title">Tracker Intake</h2>
      <p className="muted">Auto-spawn worker sessions from matching tracker issues.</p>
      {draft.provider === "linear" ? (
        <p>Linear team: {draft.team.trim() || <span className="error-text">none yet: name the team's key below.</span>}</p>
      ) : draft.provider === "jira" ? (
        <p>
          Jira project:{" "}
          {draft.project.trim() && draft.site.trim() ? (
            `${draft.project.trim()} on ${draft.site.trim()}`
          ) : (
            <span className="error-text">none yet: name the site and the project's key below.</span>
          )}
        </p>
      ) : (
        <p>
          Repository:{" "}
          {url ? <a href={url}>{repo}</a> : <span className="error-text">Could not detect a GitHub repo from this project's git origin.</span>}
        </p>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!busy && Object.keys(problems).length === 0) void save();
        }}
      >
        <IntakeFields
          draft={draft}
          onChange={(d) => {
            setDraft(d);
            setSaved(false);
          }}
          refused={refused}
          counts={preview}
          counting={<span className="muted">Preview to count what all would start now.</span>}
        />
        <div className="actions">
          <button type="submit" className="primary" disabled={busy || Object.keys(problems).length > 0}>
            Save
          </button>
          <button
            type="button"
            disabled={previewing || Object.keys(problems).length > 0}
            onClick={async () => {
              setPreviewing(true);
              setPreviewFailure(null);
              try {
                setPreview({ ...(await previewRule(project.id, intakeOf(draft))), backlog: draft.backlog });
              } catch (e) {
                setPreview(null);
                setPreviewFailure(e instanceof ApiError ? e : new ApiError(0, String(e)));
              } finally {
                setPreviewing(false);
              }
            }}
          >
            {previewing ? "Previewing…" : "Preview"}
          </button>
          <span role="status" aria-live="polite">
            {saved && "Saved."}
          </span>
        </div>
        {previewFailure && (
          <p className="error" role="alert">
            Preview: {previewFailure.message}
          </p>
        )}
        {preview && <PreviewList preview={preview} />}
        {refused?.status === 412 ? (
          <div className="error" role="alert">
            This project was changed elsewhere since you opened it. Nothing was saved.{" "}
            <button type="button" onClick={() => void onReload()}>
              Reload the project
            </button>
          </div>
        ) : (
          refused && (
            <p className="error" role="alert">
              {refused.message}
            </p>
          )
        )}
      </form>
    </section>
  );
}

/** What the rule (as drafted, saved or not) would pick up now, and what it skips and why. */
function PreviewList({ preview }: { preview: Preview & { backlog: Backlog } }) {
  return (
    <section className="preview" aria-labelledby="preview-title">
      <h3 id="preview-title">
        What this rule would pick up now in {preview.repo}: {preview.eligible.length} issue{preview.eligible.length === 1 ? "" : "s"}, oldest first
      </h3>
      <p>{startsInWords(preview, preview.backlog)}</p>
      <ul aria-label="issues the rule takes">
        {preview.eligible.map((i) => (
          <li key={i.canonicalId}>
            <a className="canonical" href={i.url}>
              {i.canonicalId}
            </a>{" "}
            <IdentifierChip issue={i} /> {i.title}
            {i.claim && <span className={`badge badge-${i.claim}`}>{claimInWords(i)}</span>}
          </li>
        ))}
      </ul>
      {(preview.heldElsewhere ?? 0) > 0 && (
        <p className="muted">
          {preview.heldElsewhere} held by another project on this repository: one session per issue across every project, and the first project to claim an issue holds it.
        </p>
      )}
      {preview.skipped.length > 0 && (
        <details>
          <summary>Skipped: {preview.skipped.length}</summary>
          <ul aria-label="issues the rule skips">
            {preview.skipped.map((i) => (
              <li key={i.canonicalId}>
                <a className="canonical" href={i.url}>
                  {i.canonicalId}
                </a>{" "}
                <IdentifierChip issue={i} /> {i.title} <span className="muted">({skipInWords(i)})</span>
              </li>
            ))}
          </ul>
        </details>
      )}
      <p className="muted">
        {preview.requests} GitHub request{preview.requests === 1 ? "" : "s"}, counted in the deployment credential's budget.
        {preview.truncated && " Stopped at the page cap, as a poll does: newer issues are not shown."}
      </p>
    </section>
  );
}

/** A previewed issue's claim: "launched", or "launched · held by widgets" when another project's claim holds it. */
export function claimInWords(issue: PreviewIssue): string {
  return issue.claimProject ? `${issue.claim} · held by ${issue.claimProject}` : `${issue.claim ?? ""}`;
}

/** Why an issue is skipped; for an untrusted author, who wrote it and how they relate to the repository. */
export function skipInWords(issue: PreviewIssue): string {
  if (issue.reason === "untrusted author") {
    const who = issue.author ? `@${issue.author}` : "an unknown author";
    return `untrusted author: ${who}, ${issue.authorAssociation ?? "no association"}`;
  }
  if (issue.reason === "member without write access") {
    return `member without write access: ${issue.author ? `@${issue.author}` : "an unknown author"}`;
  }
  return issue.reason ?? "";
}

function Sessions({ projectId }: { projectId: string }) {
  const [sessions, setSessions] = useState<Session[] | null>(null);
  const [updated, setUpdated] = useState<Date | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [releaseFailure, setReleaseFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [more, setMore] = useState(false);
  const [filter, setFilter] = useState<string>("all");
  const [releasing, setReleasing] = useState<Session | null>(null);
  const [inspecting, setInspecting] = useState<Session | null>(null);
  const now = useNow();

  const load = useCallback(async () => {
    try {
      const page = await listSessions(projectId);
      setSessions(page.items);
      setMore(page.more);
      setUpdated(new Date());
      setFailure(null);
    } catch (e) {
      setFailure(e instanceof ApiError ? e.message : String(e));
    }
  }, [projectId]);

  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), 15_000);
    return () => clearInterval(timer);
  }, [load]);

  const shown = (sessions ?? []).filter((s) => filter === "all" || s.status === filter);
  return (
    <section aria-labelledby="sessions-title">
      <header className="page-header">
        <h2 id="sessions-title" tabIndex={-1}>
          Sessions
        </h2>
        <label>
          Status{" "}
          <select value={filter} onChange={(e) => setFilter(e.target.value)}>
            <option value="all">all</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <span className="muted" aria-live="off">
          {updated ? `updated ${duration(now.getTime() - updated.getTime())} ago` : "loading…"}
        </span>
      </header>
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
      {more && <p className="muted">Showing the newest 100 sessions; the filter applies to them.</p>}
      {sessions && sessions.length === 0 && <p className="empty">No sessions yet. Matching issues start one on the next poll (every minute).</p>}
      <ul className="sessions" aria-label="sessions">
        {shown.map((s) => (
          <li key={s.issueId} className="card session">
            <div className="card-head">
              <a className="canonical" href={s.url} title={`intake issue ${issueName(s)}: ${s.title}`}>
                {s.issueId}
              </a>
              <IdentifierChip issue={s} />
              <span className={`badge badge-${s.status}`}>{s.status}</span>
            </div>
            <p>{s.title}</p>
            <p className="muted">
              claimed <When at={s.claimedAt} />
              {s.updatedAt && <> · updated <When at={s.updatedAt} /></>}
            </p>
            {s.sessionRef && (
              <p>
                session: <SessionLink session={s} />
              </p>
            )}
            <Reported session={s} />
            <Acknowledged ack={s.acknowledgement} />
            <div className="actions">
              <button type="button" onClick={() => setInspecting(s)} aria-label={`inspect ${s.issueId}`}>
                Inspect
              </button>
              {s.status !== "released" && (
                <button type="button" onClick={() => setReleasing(s)} aria-label={`release ${s.issueId}`}>
                  Release
                </button>
              )}
            </div>
          </li>
        ))}
      </ul>
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
                await load();
                document.getElementById("sessions-title")?.focus();
              }}
            >
              Release
            </button>
          </div>
        </Dialog>
      )}
      {inspecting && (
        <Dialog title={inspecting.issueId} onClose={() => setInspecting(null)}>
          <dl className="facts">
            <dt>Issue</dt>
            <dd>
              <a href={inspecting.url}>{issueName(inspecting)}</a> {inspecting.title}
            </dd>
            <dt>Status</dt>
            <dd>{inspecting.status}</dd>
            <dt>Attempts</dt>
            <dd>{inspecting.attempts}</dd>
            <dt>Generation</dt>
            <dd>{inspecting.generation}</dd>
            <dt>Claimed</dt>
            <dd><When at={inspecting.claimedAt} /></dd>
            <dt>Last error</dt>
            <dd>{inspecting.reason ?? "none"}</dd>
            <dt>Session</dt>
            <dd>{inspecting.sessionRef ? <SessionLink session={inspecting} /> : "none yet"}</dd>
            <dt>Session status</dt>
            <dd>{inspecting.sessionStatus ? sessionStatusWords(inspecting.sessionStatus) : "none reported"}</dd>
            <dt>Pull request</dt>
            <dd>
              <PullRequest url={inspecting.prUrl} fallback="none" />
            </dd>
            {inspecting.acknowledgement && (
              <>
                <dt>Acknowledgement</dt>
                <dd>
                  <AckBadge ack={inspecting.acknowledgement} />{" "}
                  <span className="muted">
                    {inspecting.acknowledgement.attempts} attempt{inspecting.acknowledgement.attempts === 1 ? "" : "s"} · updated <When at={inspecting.acknowledgement.updatedAt} />
                    {inspecting.acknowledgement.nextAttemptAt && <> · next try <When at={inspecting.acknowledgement.nextAttemptAt} /></>}
                  </span>
                  {inspecting.acknowledgement.detail && (
                    <p className={ackTroubled(inspecting.acknowledgement) ? "warning ack-detail" : "muted ack-detail"}>{inspecting.acknowledgement.detail}</p>
                  )}
                </dd>
              </>
            )}
          </dl>
          <h3>Status history</h3>
          {inspecting.statusHistory && inspecting.statusHistory.length > 0 ? (
            <ol className="history" aria-label="status history, oldest first">
              {inspecting.statusHistory.map((h, i) => (
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
          <div className="actions">
            <button type="button" onClick={() => setInspecting(null)}>
              Close
            </button>
          </div>
        </Dialog>
      )}
    </section>
  );
}

/** What the session's backend last reported, on the session card: the status, when, and the PR. */
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

function Reported({ session }: { session: Session }) {
  if (!session.sessionStatus) return null;
  const history = session.statusHistory ?? [];
  const last = history.length ? history[history.length - 1] : null;
  return (
    <p className="reported">
      session status: <span className={`badge session-${session.sessionStatus}`}>{sessionStatusWords(session.sessionStatus)}</span>
      {last && <span className="muted">reported <When at={last.at} /></span>}
      {session.prUrl && (
        <>
          {" · "}
          <PullRequest url={session.prUrl} />
        </>
      )}
    </p>
  );
}

/** The write on the issue that acknowledged the launch, on the session card; nothing when there was none. */
function Acknowledged({ ack }: { ack: Acknowledgement | null | undefined }) {
  if (!ack) return null;
  return (
    <p className="reported">
      on the issue: <AckBadge ack={ack} />
      {ack.nextAttemptAt && <span className="muted"> next try <When at={ack.nextAttemptAt} /></span>}
      {ackTroubled(ack) && ack.detail && (
        <span className="warning ack-detail" title={ack.detail}>
          {shortened(ack.detail)}
        </span>
      )}
    </p>
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

/** Linear's identifier (ENG-123) or Jira's key (PROJ-123) beside the canonical id, linking to the issue; GitHub's issues need none (the id ends in #number). */
function IdentifierChip({ issue }: { issue: { identifier?: string | null; url: string; title: string } }) {
  if (!issue.identifier) return null;
  return (
    <a className="identifier" href={issue.url} title={`${issue.identifier}: ${issue.title}`}>
      {issue.identifier}
    </a>
  );
}
