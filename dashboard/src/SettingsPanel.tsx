import { useState } from "react";
import { ApiError, previewRule, saveConfig, type Backlog, type Preview, type PreviewIssue, type Project } from "./api";
import { repoUrl } from "./format";
import { draftOf, intakeOf, IntakeFields, problemsOf, startsInWords, type Draft } from "./IntakeFields";
import { IdentifierChip } from "./IdentifierChip";
import { RuleSummary } from "./RuleSummary";

/** The Settings tab: the rule read only, in plain words, and "Edit settings", which opens the form
 * (its preview, its 412 reload) on purpose. */
export function SettingsPanel({ project, reloads, onSaved, onReload }: { project: Project; reloads: number; onSaved: (p: Project) => void; onReload: () => Promise<void> }) {
  const [editing, setEditing] = useState(false);
  return (
    <section aria-labelledby="settings-title" className="settings">
      <div className="page-header">
        <h2 id="settings-title">The intake rule</h2>
        {!editing && (
          <button type="button" className="primary" onClick={() => setEditing(true)}>
            Edit settings
          </button>
        )}
      </div>
      {editing ? (
        <IntakeCard key={`${project.id}:${reloads}`} project={project} onSaved={onSaved} onReload={onReload} onClose={() => setEditing(false)} />
      ) : (
        <RuleSummary project={project} />
      )}
    </section>
  );
}

function IntakeCard({ project, onSaved, onReload, onClose }: { project: Project; onSaved: (p: Project) => void; onReload: () => Promise<void>; onClose: () => void }) {
  const [draft, setDraft] = useState<Draft>(draftOf(project.trackerIntake));
  // The version the form was opened (or last saved) at: a change elsewhere meanwhile is a 412, never overwritten.
  const [version, setVersion] = useState(project.version);
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
      const next = await saveConfig(project.id, { name: project.name, gitOrigin: project.gitOrigin, trackerIntake: intakeOf(draft) }, version);
      setVersion(next.version);
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
      <h2 id="intake-title">Edit the intake rule</h2>
      <p className="muted">Intake starts one worker session for each tracker issue that matches this rule.</p>
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
          <button type="button" onClick={onClose}>
            Close
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
