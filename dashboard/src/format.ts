import type { Acknowledgement, Project, TrackerIntake } from "./api";
import { defaultAuthorsOf } from "./rules";

export const DEFAULT_EXCLUDES = ["in-progress", "in-review"];

/** The rule in words: "open issues labelled agent, assigned to anyone, except in-progress, in-review";
 * a project with intake off says so first ("intake off", and its rule when it has one). */
export function ruleInWords(intake: TrackerIntake | null | undefined): string {
  if (!intake) return "intake off";
  if (!intake.enabled) return intake.labels.length || intake.assignee ? `intake off; when on: ${enabledRuleInWords(intake)}` : "intake off";
  return enabledRuleInWords(intake);
}

function enabledRuleInWords(intake: TrackerIntake): string {
  const parts: string[] = [];
  if (intake.labels.length) parts.push(`labelled ${intake.labels.join(" and ")}`);
  const who = intake.assignee;
  if (who === "*") parts.push("with any assignee");
  else if (who === "none") parts.push("with no assignee");
  else if (who) parts.push(`assigned to ${who}`);
  const excludes = intake.excludeLabels ?? DEFAULT_EXCLUDES;
  const where = intake.provider === "linear" && intake.team ? `${intake.team}'s ` : intake.provider === "jira" && intake.project ? `${intake.project}'s ` : "";
  const rule = parts.length ? `${where}open issues ${parts.join(", ")}` : "no label or assignee yet";
  const except = excludes.length ? `, except ${excludes.join(", ")}` : "";
  const authors = intake.authors ?? [];
  const widened = authors.some((a) => !defaultAuthorsOf(intake.provider ?? "github").includes(a)) ? `; by ${authors.join(", ")}` : "";
  const unchecked = intake.memberWriteCheck === false && authors.includes("MEMBER") ? "; members without a write-access check" : "";
  return `${rule}${except}${widened}${unchecked}; up to ${intake.maxSessionsPerPoll} a poll`;
}

export type ChipState = "ok" | "backoff" | "error" | "disabled" | "config invalid";

export function chipState(project: Project): ChipState {
  if (project.intake.configError) return "config invalid";
  return project.intake.state as ChipState;
}

/** The project's state in words: "ok", "in backoff", "error", "intake off", "config invalid". */
export function stateWords(project: Project): string {
  const state = chipState(project);
  if (state === "backoff") return "in backoff";
  if (state === "disabled" || !project.trackerIntake?.enabled) return state === "config invalid" ? state : "intake off";
  return state;
}

/** What a failure of `kind` (the poller's error kind, the start of lastError) means, as a sentence's start. */
const ERROR_KIND_WORDS: Record<string, string> = {
  tracker_unavailable: "The tracker did not answer",
  auth_failed: "The tracker refused the credential",
  repo_not_found: "The tracker says the repository, team or project does not exist, or the credential cannot see it",
  primary_rate_limit: "The credential's rate limit is used up",
  secondary_rate_limit: "The tracker asked intake to slow down (a secondary rate limit)",
  bad_response: "The tracker's answer could not be read",
  tracker_misconfigured: "The tracker's settings are wrong",
  tracker_error: "The tracker failed",
  config_invalid: "The stored rule is invalid",
  store_unavailable: "The table could not be read or written",
  token_unavailable: "The credential's secret could not be read",
};

/** An error kind in words ("auth_failed" reads "The tracker refused the credential"), else the kind with spaces. */
export function errorKindWords(kind: string | null | undefined): string | null {
  if (!kind) return null;
  return ERROR_KIND_WORDS[kind] ?? `${kind.charAt(0).toUpperCase()}${kind.slice(1).replace(/_/g, " ")}`;
}

/** Why the project is in backoff, in one sentence: the kind in words, then the poller's own words.
 * "tracker_unavailable: GitHub answered 502" reads "The tracker did not answer: GitHub answered 502." */
export function backoffReason(lastError: string | null | undefined, failureKind?: string | null): string {
  if (!lastError) return failureKind === "persistent" ? "The last polls failed, and need a fix." : "The last polls failed.";
  const kind = /^([a-z_]+): /.exec(lastError)?.[1];
  const words = errorKindWords(kind);
  const detail = sentence(lastError);
  return words ? `${words}: ${detail}` : detail;
}

/** A poll's result in words: "not_modified" reads "nothing changed (304)". */
export function pollResultWords(result: string): string {
  const words: Record<string, string> = {
    not_modified: "nothing changed",
    changed: "changed",
    failed: "failed",
    config_invalid: "config invalid",
    credential_paused: "credential paused",
    in_backoff: "skipped: in backoff",
    disabled: "intake off",
    missing: "project missing",
  };
  return words[result] ?? result.replace(/_/g, " ");
}

/** The last poll failure's kind in words, beside the backoff: a transient one passes by itself. */
export function failureKindWords(kind: string | null | undefined): string | null {
  if (kind === "transient") return "transient failure (a 5xx, a reset or a timeout)";
  if (kind === "persistent") return "persistent failure (needs a fix)";
  return null;
}

export function repoUrl(repo: string | null | undefined): string | undefined {
  return repo ? `https://github.com/${repo}` : undefined;
}

/** "3 s", "4 min 5 s", "2 h 3 min", "3 days 4 h": how long until (or since) a moment. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} days ${h % 24} h`;
}

/** The poller's last error as a sentence: "tracker_unavailable: GitHub is ..." reads "GitHub is ...". */
export function sentence(error: string): string {
  const text = error.replace(/^[a-z_]+: /, "").trim();
  const first = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

/** A session status its backend reported, in words: "needs_input" reads "needs input", "pr_open" "PR open". */
export function sessionStatusWords(status: string): string {
  const words: Record<string, string> = { needs_input: "needs input", pr_open: "PR open", ci_failed: "CI failed" };
  return words[status] ?? status.replace(/_/g, " ");
}

/** How a pull request URL reads: "acme/app#43"; null when it is not an https pull request URL. */
export function pullRequestName(url: string | null | undefined): string | null {
  const match = url ? /^https:\/\/[^/]+\/([^/]+\/[^/]+)\/pull\/(\d+)$/.exec(url) : null;
  return match ? `${match[1]}#${match[2]}` : null;
}

/** An acknowledgement on the issue in words: its kind and state, "comment done", "reaction refused". */
export function acknowledgementWords(ack: Pick<Acknowledgement, "kind" | "state">): string {
  return `${ack.kind} ${ack.state}`;
}

/** Whether an acknowledgement needs someone's attention: GitHub refused it, or intake gave up. */
export function ackTroubled(ack: Pick<Acknowledgement, "state">): boolean {
  return ack.state === "refused" || ack.state === "failed";
}

/** A text cut to `max` characters (code points), with an ellipsis when it was longer. */
export function shortened(text: string, max = 80): string {
  const chars = [...text];
  return chars.length > max ? `${chars.slice(0, max - 1).join("")}…` : text;
}

/** Where a project's rule reads: a Linear team ("Linear team ENG"), a Jira project ("Jira project PROJ on acme.atlassian.net"), else its GitHub repository, if known. */
export function sourceInWords(intake: TrackerIntake | null | undefined, repo: string | null | undefined): string | null {
  if (intake?.provider === "linear") return intake.team ? `Linear team ${intake.team}` : "Linear, no team";
  if (intake?.provider === "jira") return intake.project && intake.site ? `Jira project ${intake.project} on ${intake.site}` : "Jira, no project";
  return repo ?? null;
}

/** How a person names an issue: Linear's identifier (ENG-123) or Jira's key (PROJ-123), else #number. */
export function issueName(issue: { identifier?: string | null; number: number }): string {
  return issue.identifier ?? `#${issue.number}`;
}
