import type { Acknowledgement, Project, Session, TrackerIntake } from "./api";
import { defaultAuthorsOf } from "./rules";

export const DEFAULT_EXCLUDES = ["in-progress", "in-review"];

/** The rule in words: "open issues labelled agent, assigned to anyone, except in-progress, in-review". */
export function ruleInWords(intake: TrackerIntake | null | undefined): string {
  if (!intake) return "no intake rule";
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

/** The last poll failure's kind in words, beside the backoff: a transient one passes by itself. */
export function failureKindWords(kind: string | null | undefined): string | null {
  if (kind === "transient") return "transient failure (a 5xx, a reset or a timeout)";
  if (kind === "persistent") return "persistent failure (needs a fix)";
  return null;
}

export function repoUrl(repo: string | null | undefined): string | undefined {
  return repo ? `https://github.com/${repo}` : undefined;
}

/** "3 s", "4 min 5 s", "2 h 3 min": how long until (or since) a moment. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min`;
}

/** The poller's last error as a sentence: "tracker_unavailable: GitHub is ..." reads "GitHub is ...". */
export function sentence(error: string): string {
  const text = error.replace(/^[a-z_]+: /, "").trim();
  const first = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

/** How long ago (or how soon) a moment is, from `now`: "just now", "3 min ago", "in 2 h", "5 days ago". */
export function relative(iso: string, now: Date = new Date()): string {
  const ms = new Date(iso).getTime() - now.getTime();
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 45) return "just now";
  const [amount, unit] =
    s < 3600 ? [Math.max(1, Math.round(s / 60)), "min"] : s < 86_400 ? [Math.round(s / 3600), "h"] : [Math.round(s / 86_400), "day"];
  const span = unit === "day" && amount !== 1 ? `${amount} days` : `${amount} ${unit}`;
  return ms < 0 ? `${span} ago` : `in ${span}`;
}

/** A moment as ISO 8601 in UTC to the second, "2026-11-24T12:00:00Z": what a relative time holds on hover. */
export function utc(iso: string): string {
  return new Date(iso).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Sessions started on each of the last `days` days (oldest first), from their claim times. */
export function perDay(sessions: Session[], now: Date, days = 30): number[] {
  const counts = new Array<number>(days).fill(0);
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  for (const s of sessions) {
    const t = new Date(s.claimedAt);
    const day = Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate());
    const ago = Math.round((today - day) / 86_400_000);
    if (ago >= 0 && ago < days) counts[days - 1 - ago] += 1;
  }
  return counts;
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
