import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, checkedAtOf, listProjects, listSessions, type Project, type Session } from "./api";
import { CreateSheet } from "./CreateSheet";
import { chipState, duration, failureKindWords, repoUrl, ruleInWords, sentence, sourceInWords, stateWords } from "./format";
import { utc } from "./time";
import { useNow, When } from "./ui";

type Row = { project: Project; sessions: Session[]; more: boolean };

export function ProjectsView() {
  const [rows, setRows] = useState<Row[] | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const now = useNow();

  const loading = useRef(false);
  const load = useCallback(async () => {
    if (loading.current) return; // the last refresh is still running: skip this one
    loading.current = true;
    try {
      const projects = await listProjects();
      const ledgers = await Promise.all(projects.map((p) => listSessions(p.id)));
      setRows(projects.map((project, i) => ({ project, sessions: ledgers[i].items, more: ledgers[i].more })));
      setFailure(null);
    } catch (e) {
      setFailure(e instanceof ApiError ? e.message : String(e));
    } finally {
      loading.current = false;
    }
  }, []);

  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), 15_000);
    return () => clearInterval(timer);
  }, [load]);

  return (
    <main>
      <header className="page-header">
        <h1>Projects</h1>
        <button type="button" className="primary" onClick={() => setCreating(true)}>
          New project
        </button>
      </header>
      {failure && (
        <p className="error" role="alert">
          {failure} The list will try again in 15 s.
        </p>
      )}
      {rows === null && !failure && <p>Loading projects…</p>}
      {rows?.length === 0 && (
        <section className="empty">
          <h2>No projects yet</h2>
          <p>Create one with “New project”, or with the CLI: <code>intake project create ID</code>. Turn intake on with a label or an assignee, and matching issues start sessions within a minute.</p>
        </section>
      )}
      {rows && rows.length > 0 && (
        <ul className="projects" aria-label="projects">
          {rows.map((row) => (
            <ProjectCard key={row.project.id} row={row} now={now} />
          ))}
        </ul>
      )}
      {creating && (
        <CreateSheet
          onClose={() => setCreating(false)}
          onCreated={(p) => {
            setCreating(false);
            window.location.hash = `#/projects/${encodeURIComponent(p.id)}`;
          }}
        />
      )}
    </main>
  );
}

function ProjectCard({ row, now }: { row: Row; now: Date }) {
  const { project, more } = row;
  // A backlog claim started no session: counted apart.
  const sessions = row.sessions.filter((s) => s.status !== "backlog");
  const backlog = row.sessions.length - sessions.length;
  const state = chipState(project);
  const intake = project.intake;
  const url = repoUrl(intake.repo);
  const backoffLeft = intake.backoffUntil ? new Date(intake.backoffUntil).getTime() - now.getTime() : 0;
  return (
    <li className="card project">
      <div className="card-head">
        <h2>
          <a href={`#/projects/${encodeURIComponent(project.id)}`}>{project.id}</a>
          {project.name && <span className="muted"> · {project.name}</span>}
        </h2>
        <span className={`state state-${state.replace(" ", "-")}`}>{stateWords(project)}</span>
      </div>
      <p>
        {project.trackerIntake?.provider === "linear" || project.trackerIntake?.provider === "jira" ? (
          sourceInWords(project.trackerIntake, null)
        ) : url ? (
          <a href={url}>{intake.repo}</a>
        ) : (
          <span className="muted">no repository</span>
        )}
      </p>
      <p>{ruleInWords(project.trackerIntake)}</p>
      <dl className="facts">
        {checkedAtOf(project) && (
          <>
            <dt>Last poll</dt>
            <dd>
              <When at={checkedAtOf(project)} now={now} />
            </dd>
          </>
        )}
        <dt>Last change</dt>
        <dd>
          <When at={intake.lastChangeAt} now={now} never="—" />
        </dd>
        {backoffLeft > 0 && (
          <>
            <dt>Backoff</dt>
            <dd>
              polls again in{" "}
              <time className="countdown" dateTime={intake.backoffUntil ?? undefined} title={utc(intake.backoffUntil ?? "")}>
                {duration(backoffLeft)}
              </time>
              {intake.failureKind && <span className="muted"> · {failureKindWords(intake.failureKind) ?? intake.failureKind}</span>}
            </dd>
          </>
        )}
        {(intake.lastError || intake.configError) && (
          <>
            <dt>Last error</dt>
            <dd className="error-text">{sentence(intake.configError ?? intake.lastError ?? "")}</dd>
          </>
        )}
        <dt>Sessions</dt>
        <dd>{more ? `${sessions.length}+` : sessions.length}</dd>
        {backlog > 0 && (
          <>
            <dt>Backlog</dt>
            <dd>{more ? `${backlog}+` : backlog} (no session)</dd>
          </>
        )}
        {intake.backlogSince && (
          <>
            <dt>Recording backlog</dt>
            <dd>
              issues open when intake was switched on, <When at={intake.backlogSince} now={now} />
            </dd>
          </>
        )}
      </dl>
    </li>
  );
}
