import type { Project } from "./api";
import { DEFAULT_EXCLUDES, repoUrl } from "./format";
import { ACKNOWLEDGE_CHOICES, BACKLOG_CHOICES } from "./IntakeFields";
import { defaultAuthorsOf, PROVIDER_NAMES } from "./rules";

const AUTHORS_NAME = { github: "Authors (GitHub's author association)", linear: "Creators (Linear's kinds)", jira: "Reporters (Jira's kinds)" } as const;

/** How an assignee reads: "any assignee" for *, "no assignee" for none, else who. */
function assigneeWords(assignee: string | null | undefined, provider: string): string {
  if (!assignee) return "any or none (not part of the rule)";
  if (assignee === "*") return "any assignee (* : the issue has one)";
  if (assignee === "none") return "no assignee (none: unassigned issues)";
  return provider === "linear" ? `${assignee} (email)` : provider === "jira" ? `${assignee} (account id or email)` : `@${assignee}`;
}

/** The project's rule, read only and in plain words: what the settings form edits. */
export function RuleSummary({ project }: { project: Project }) {
  const rule = project.trackerIntake;
  if (!rule) {
    return <p className="muted">No intake rule yet: intake off. Edit the settings to give it a label or an assignee and switch it on.</p>;
  }
  const provider = rule.provider ?? "github";
  const repo = rule.repo ?? project.intake.repo;
  const url = repoUrl(repo);
  const excludes = rule.excludeLabels ?? DEFAULT_EXCLUDES;
  const authors = rule.authors ?? defaultAuthorsOf(provider);
  const defaults = defaultAuthorsOf(provider);
  const widened = authors.filter((a) => !defaults.includes(a));
  const backlog = BACKLOG_CHOICES.find((c) => c.value === rule.backlog);
  return (
    <dl className="facts rule-summary" aria-label="Rule summary">
      <dt>Intake</dt>
      <dd>{rule.enabled ? "on: polled every minute" : "intake off: nothing is polled"}</dd>
      <dt>Tracker</dt>
      <dd>{PROVIDER_NAMES[provider] ?? provider}</dd>
      {provider === "github" && (
        <>
          <dt>Repository</dt>
          <dd>{url ? <a href={url}>{repo}</a> : <span className="error-text">none: no GitHub repository in the git origin</span>}{!rule.repo && repo && <span className="muted"> (from the git origin)</span>}</dd>
        </>
      )}
      {provider === "linear" && (
        <>
          <dt>Team</dt>
          <dd>{rule.team ?? <span className="error-text">none yet</span>}</dd>
        </>
      )}
      {provider === "jira" && (
        <>
          <dt>Site and project</dt>
          <dd>{rule.site && rule.project ? `project ${rule.project} on ${rule.site}` : <span className="error-text">none yet</span>}</dd>
        </>
      )}
      <dt>Labels</dt>
      <dd>{rule.labels.length ? `${rule.labels.join(", ")} (an issue needs every one)` : "none"}</dd>
      <dt>Assignee</dt>
      <dd>{assigneeWords(rule.assignee, provider)}</dd>
      <dt>Excluded labels</dt>
      <dd>
        {excludes.length ? excludes.join(", ") : "none"}
        {rule.excludeLabels === null || rule.excludeLabels === undefined ? <span className="muted"> (the default)</span> : null}
      </dd>
      <dt>{AUTHORS_NAME[provider as keyof typeof AUTHORS_NAME] ?? "Authors"}</dt>
      <dd>
        {authors.join(", ")}
        {widened.length ? <strong className="warning"> widened to {widened.join(", ")}</strong> : <span className="muted"> (the default)</span>}
        {provider === "github" && authors.includes("MEMBER") && (
          <span className={rule.memberWriteCheck === false ? "warning" : "muted"}>
            {rule.memberWriteCheck === false ? "; members without a write-access check" : "; members need write access"}
          </span>
        )}
      </dd>
      <dt>Backlog</dt>
      <dd>
        {rule.backlog}: {backlog?.label.toLowerCase() ?? ""}
      </dd>
      <dt>Acknowledgement</dt>
      <dd>
        {rule.acknowledge}: {ACKNOWLEDGE_CHOICES[rule.acknowledge]}
      </dd>
      <dt>Max sessions per poll</dt>
      <dd>{rule.maxSessionsPerPoll}</dd>
      <dt>Credential</dt>
      <dd>{rule.credential ?? "the deployment's default"}</dd>
    </dl>
  );
}
