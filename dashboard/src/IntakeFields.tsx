// The intake rule's fields, shared by the create sheet (compact) and the Tracker Intake card.
import { useId, type ReactNode } from "react";
import { acknowledgeKindsOf, authorsOf, checkLabels, checkMaxSessions, checkString, DEFAULT_ACKNOWLEDGE, DEFAULT_BACKLOG, defaultAuthorsOf, PROVIDER_NAMES, PROVIDERS, RULES, ruleIsSet } from "./rules";
import { DEFAULT_EXCLUDES } from "./format";
import { ChipsInput, Switch, TextField } from "./ui";
import type { Acknowledge, ApiError, Association, Backlog, Provider, TrackerIntake } from "./api";

export type Draft = {
  enabled: boolean;
  provider: Provider;
  // GitHub only: the repository, when not derived from the git origin.
  repo: string;
  // Linear only, and required there: the team's key (ENG).
  team: string;
  // Jira only, and required there: the site's host name (acme.atlassian.net) and the project's key (PROJ).
  site: string;
  project: string;
  labels: string[];
  assignee: string;
  excludeLabels: string[] | null; // null: the default (in-progress, in-review)
  maxSessionsPerPoll: number;
  authors: Association[];
  // MEMBER starts a session only with write access to the repository (GitHub asked, answer kept).
  memberWriteCheck: boolean;
  backlog: Backlog;
  acknowledge: Acknowledge;
};

/** What a preview said saving would start: with the backlog choice it was asked with, and with `all`. */
export type StartCounts = { backlog: Backlog; wouldStart: number; wouldStartWithAll: number };

export const ENABLE_INFO =
  "When on, every minute intake finds the repository's open issues that match the rule, written by an allowed author, and starts one worker session per issue, ever. With backlog new, the issues that match when you switch it on are recorded, not started.";

export function draftOf(intake: TrackerIntake | null | undefined): Draft {
  const provider = intake?.provider ?? "github";
  return {
    enabled: intake?.enabled ?? false,
    provider,
    repo: intake?.repo ?? "",
    team: intake?.team ?? "",
    site: intake?.site ?? "",
    project: intake?.project ?? "",
    labels: intake?.labels ?? [],
    assignee: intake?.assignee ?? "",
    excludeLabels: intake?.excludeLabels ?? null,
    maxSessionsPerPoll: intake?.maxSessionsPerPoll ?? 10,
    authors: intake?.authors ?? defaultAuthorsOf(provider),
    memberWriteCheck: intake?.memberWriteCheck ?? true,
    backlog: intake?.backlog ?? DEFAULT_BACKLOG,
    acknowledge: intake?.acknowledge ?? DEFAULT_ACKNOWLEDGE,
  };
}

/** The rule as the API takes it: each tracker's own fields only (the API refuses the other's by name). */
export function intakeOf(draft: Draft): TrackerIntake {
  const common = {
    enabled: draft.enabled,
    labels: draft.labels,
    assignee: draft.assignee.trim() || null,
    excludeLabels: draft.excludeLabels,
    maxSessionsPerPoll: draft.maxSessionsPerPoll,
    authors: draft.authors,
    backlog: draft.backlog,
    acknowledge: draft.acknowledge,
  };
  // memberWriteCheck has a default, so the generated type requires it; a Linear rule must leave it out.
  if (draft.provider === "linear") return { ...common, provider: "linear", team: draft.team.trim() || null } as TrackerIntake;
  if (draft.provider === "jira") return { ...common, provider: "jira", site: draft.site.trim() || null, project: draft.project.trim() || null } as TrackerIntake;
  return { ...common, provider: draft.provider, repo: draft.repo.trim() || null, memberWriteCheck: draft.memberWriteCheck };
}

/** The draft on another tracker: its authors reset to that tracker's default (the kinds differ), and
 * an acknowledgement the new tracker cannot write (a reaction on Jira) back to the default. */
export function onProvider(draft: Draft, provider: Provider): Draft {
  if (provider === draft.provider) return draft;
  const acknowledge = acknowledgeKindsOf(provider).includes(draft.acknowledge) ? draft.acknowledge : DEFAULT_ACKNOWLEDGE;
  return { ...draft, provider, authors: defaultAuthorsOf(provider), acknowledge };
}

// A Jira account id: 24 hex-like characters (older accounts), or a number, ':' and a UUID.
const JIRA_ACCOUNT_ID = /^(?:[A-Za-z0-9]{24}|[0-9]{1,10}:[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12})$/;

export type Problems = Partial<Record<"repo" | "team" | "site" | "project" | "labels" | "assignee" | "excludeLabels" | "maxSessionsPerPoll" | "authors", string>>;

/** What is wrong with the draft, by field, from the published rules; empty when it may be sent. */
export function problemsOf(draft: Draft): Problems {
  const problems: Problems = {};
  const linear = draft.provider === "linear";
  const jira = draft.provider === "jira";
  if (draft.provider === "github" && draft.repo.trim()) problems.repo = checkString(RULES.repo, draft.repo.trim(), "Repository");
  if (linear) problems.team = draft.team.trim() ? checkString(RULES.team, draft.team.trim(), "Team key") : "A Linear rule needs the team's key (such as ENG).";
  if (jira) {
    problems.site = draft.site.trim() ? checkString(RULES.site, draft.site.trim(), "Site") : "A Jira rule needs the site's host name (such as acme.atlassian.net).";
    problems.project = draft.project.trim() ? checkString(RULES.project, draft.project.trim(), "Project key") : "A Jira rule needs the project's key (such as PROJ).";
  }
  problems.labels = checkLabels(draft.labels, RULES.labels, "labels");
  const assignee = draft.assignee.trim();
  if (assignee) problems.assignee = checkString(RULES.assignee, assignee, "Assignee");
  if (linear && assignee && assignee !== "*" && assignee !== "none" && !assignee.includes("@")) problems.assignee ??= "On Linear, the assignee is an email, * or none.";
  if (jira && assignee && assignee !== "*" && assignee !== "none" && !assignee.includes("@") && !JIRA_ACCOUNT_ID.test(assignee)) problems.assignee ??= "On Jira, the assignee is an account id, an email, * or none.";
  if (draft.excludeLabels) problems.excludeLabels = checkLabels(draft.excludeLabels, RULES.excludeLabels, "exclude labels");
  problems.maxSessionsPerPoll = checkMaxSessions(draft.maxSessionsPerPoll);
  if (draft.authors.length === 0) problems.authors = "Allow at least one association; to stop intake, switch it off.";
  if (draft.enabled && !ruleIsSet(draft.labels, draft.assignee)) problems.labels ??= "Enabling intake requires a label or an assignee.";
  for (const key of Object.keys(problems) as (keyof Problems)[]) if (!problems[key]) delete problems[key];
  return problems;
}

/** The API's reason for a field of trackerIntake, else the local one. */
function shown(field: keyof Problems, problems: Problems, refused: ApiError | null): string | undefined {
  return refused?.reasonFor(`trackerIntake.${field}`) ?? problems[field];
}

export function IntakeFields({
  draft,
  onChange,
  refused,
  compact,
  counts,
  counting,
}: {
  draft: Draft;
  onChange: (d: Draft) => void;
  refused: ApiError | null;
  compact?: boolean;
  counts?: StartCounts | null;
  counting?: ReactNode;
}) {
  const problems = problemsOf(draft);
  const set = (patch: Partial<Draft>) => onChange({ ...draft, ...patch });
  // In the create sheet, the rule's fields show once intake is switched on.
  if (compact && !draft.enabled) {
    return (
      <>
        <Switch label="Tracker intake" checked={draft.enabled} onChange={(enabled) => set({ enabled })} info={ENABLE_INFO} />
        <p className="help">Switch intake on to choose the tracker and the rule; the project can be created without it.</p>
      </>
    );
  }
  const linear = draft.provider === "linear";
  const jira = draft.provider === "jira";
  return (
    <>
      <Switch label="Tracker intake" checked={draft.enabled} onChange={(enabled) => set({ enabled })} info={ENABLE_INFO} />
      <ProviderField provider={draft.provider} onChange={(provider) => onChange(onProvider(draft, provider))} error={refused?.reasonFor("trackerIntake.provider")} />
      {linear && (
        <TextField
          label="Team key"
          value={draft.team}
          onChange={(team) => set({ team })}
          placeholder="e.g. ENG"
          help="The key of the Linear team whose issues to take (the ENG of ENG-123)."
          error={shown("team", problems, refused)}
        />
      )}
      {jira && (
        <>
          <TextField
            label="Site"
            value={draft.site}
            onChange={(site) => set({ site })}
            placeholder="e.g. acme.atlassian.net"
            help="The Jira Cloud site's host name: it names the site in canonical ids (jira:site/id) and links."
            error={shown("site", problems, refused)}
          />
          <TextField
            label="Project key"
            value={draft.project}
            onChange={(project) => set({ project })}
            placeholder="e.g. PROJ"
            help="The key of the Jira project whose issues to take (the PROJ of PROJ-123)."
            error={shown("project", problems, refused)}
          />
        </>
      )}
      {!compact && draft.provider === "github" && (
        <TextField
          label="Repository override (owner/name)"
          value={draft.repo}
          onChange={(repo) => set({ repo })}
          placeholder="derived from the git origin"
          error={shown("repo", problems, refused)}
        />
      )}
      <ChipsInput label="Labels (an issue needs every one)" values={draft.labels} onChange={(labels) => set({ labels })} placeholder="type a label, press Enter" error={shown("labels", problems, refused)} />
      <TextField
        label="Assignee"
        value={draft.assignee}
        onChange={(assignee) => set({ assignee })}
        placeholder={linear ? "type an email or * for any" : jira ? "type an account id or email, or * for any" : "type username or * for any"}
        help={
          linear ? (
            <>The assignee's email; <code>*</code> = has an assignee; <code>none</code> = unassigned.</>
          ) : jira ? (
            <>The assignee's Atlassian account id or email; <code>*</code> = has an assignee; <code>none</code> = unassigned.</>
          ) : (
            <>A login; <code>*</code> = has an assignee; <code>none</code> = unassigned.</>
          )
        }
        error={shown("assignee", problems, refused)}
      />
      {!compact && (
        <>
          <ChipsInput
            label="Exclude labels"
            values={draft.excludeLabels ?? DEFAULT_EXCLUDES}
            onChange={(excludeLabels) => set({ excludeLabels })}
            placeholder="type a label, press Enter"
            help={draft.excludeLabels === null ? "The default: in-progress, in-review." : undefined}
            error={shown("excludeLabels", problems, refused)}
          />
          {draft.excludeLabels !== null && (
            <button type="button" className="link" onClick={() => set({ excludeLabels: null })}>
              Reset exclude labels to the default
            </button>
          )}
          <TextField
            label="Max sessions per poll"
            type="number"
            value={String(draft.maxSessionsPerPoll)}
            onChange={(v) => set({ maxSessionsPerPoll: Number(v) })}
            error={shown("maxSessionsPerPoll", problems, refused)}
          />
          <AuthorsField provider={draft.provider} authors={draft.authors} onChange={(authors) => set({ authors })} error={shown("authors", problems, refused)} />
          {draft.provider === "github" && draft.authors.includes("MEMBER") && (
            <MemberWriteCheckField checked={draft.memberWriteCheck} onChange={(memberWriteCheck) => set({ memberWriteCheck })} error={refused?.reasonFor("trackerIntake.memberWriteCheck")} />
          )}
        </>
      )}
      {compact && (
        <p className="help">
          Only issues by {defaultAuthorsOf(draft.provider).join(", ")} start sessions; the project's settings can widen it.
        </p>
      )}
      <BacklogField backlog={draft.backlog} onChange={(backlog) => set({ backlog })} counts={counts ?? null} counting={counting} error={refused?.reasonFor("trackerIntake.backlog")} />
      <AcknowledgeField provider={draft.provider} acknowledge={draft.acknowledge} onChange={(acknowledge) => set({ acknowledge })} error={refused?.reasonFor("trackerIntake.acknowledge")} />
    </>
  );
}

/** The tracker the rule polls: GitHub, Linear or Jira. */
function ProviderField({ provider, onChange, error }: { provider: Provider; onChange: (p: Provider) => void; error?: string }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>Tracker</label>
      <select id={id} value={provider} aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-error` : undefined} onChange={(e) => onChange(e.target.value as Provider)}>
        {PROVIDERS.map((p) => (
          <option key={p} value={p}>
            {PROVIDER_NAMES[p]}
          </option>
        ))}
      </select>
      {error && (
        <p className="error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

export const LINEAR_AUTHORS_HELP =
  "An issue's title and description become the prompt of an agent that can push. MEMBER: a full member of the workspace; GUEST: a guest, who sees only the teams they were invited to; APP: an integration or an app acting as itself.";

export const JIRA_AUTHORS_HELP =
  "An issue's summary and description become the prompt of an agent that can push. MEMBER: a user of the site (an Atlassian account); APP: an app's bot user; CUSTOMER: a Jira Service Management portal customer, who can be anyone the service desk lets in.";

const AUTHORS_LEGEND: Record<Provider, string> = {
  github: "Who may start a session (the issue author's association)",
  linear: "Who may start a session (the issue creator's kind)",
  jira: "Who may start a session (the reporter's kind)",
};

export const AUTHORS_HELP =
  "An issue's title and body become the prompt of an agent that can push to the repository. On a public repository anyone can open an issue, and an issue form can label it: allow only people you would let instruct that agent.";

/** Which author_association values may start a session: the default ones, widened only on purpose. */
function AuthorsField({ provider, authors, onChange, error }: { provider: Provider; authors: Association[]; onChange: (a: Association[]) => void; error?: string }) {
  const id = useId();
  const choices = authorsOf(provider);
  const widened = authors.filter((a) => !defaultAuthorsOf(provider).includes(a));
  return (
    <fieldset className="field choices" aria-describedby={error ? `${id}-error` : `${id}-help`}>
      <legend>{AUTHORS_LEGEND[provider]}</legend>
      {choices.map((a) => (
        <label key={a} className="choice">
          <input
            type="checkbox"
            checked={authors.includes(a)}
            onChange={(e) => onChange(e.target.checked ? choices.filter((x) => x === a || authors.includes(x)) : authors.filter((x) => x !== a))}
          />{" "}
          <code>{a}</code>
        </label>
      ))}
      {!error && (
        <p className="help" id={`${id}-help`}>
          {provider === "linear" ? LINEAR_AUTHORS_HELP : provider === "jira" ? JIRA_AUTHORS_HELP : AUTHORS_HELP}
          {widened.length > 0 && <strong className="warning"> Widened to {widened.join(", ")}: their issues will instruct the agent.</strong>}
        </p>
      )}
      {error && (
        <p className="error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </fieldset>
  );
}

export const MEMBER_CHECK_HELP =
  "MEMBER says the author belongs to the organisation, not that they may push: with a read-only base permission, many members cannot. With this on, a member's issue starts a session only if GitHub says they may write to the repository (one request per member an hour, kept).";

/** Whether a member's issue needs their write access on the repository: on unless switched off on purpose. */
function MemberWriteCheckField({ checked, onChange, error }: { checked: boolean; onChange: (v: boolean) => void; error?: string }) {
  const id = useId();
  return (
    <div className="field" aria-describedby={`${id}-help`}>
      <label className="choice">
        <input type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} /> Members must have write access to the repository
      </label>
      <p className="help" id={`${id}-help`}>
        {MEMBER_CHECK_HELP}
        {!checked && <strong className="warning"> Off: any member of the organisation, read-only ones included, can instruct the agent.</strong>}
      </p>
      {error && <p className="error">{error}</p>}
    </div>
  );
}

export const BACKLOG_CHOICES: { value: Backlog; label: string; help: string }[] = [
  { value: "new", label: "Only issues that match from now on", help: "the issues that match when intake is switched on are recorded as backlog, without a session" },
  { value: "all", label: "Every matching open issue, the backlog too", help: "each starts a session, up to the max sessions per poll every minute" },
];

/** What switching intake on does to the issues already open, and what a preview says it would start. */
function BacklogField({ backlog, onChange, counts, counting, error }: { backlog: Backlog; onChange: (b: Backlog) => void; counts: StartCounts | null; counting?: ReactNode; error?: string }) {
  const id = useId();
  return (
    <fieldset className="field choices" aria-describedby={`${id}-count`}>
      <legend>When intake is switched on, start sessions for</legend>
      {BACKLOG_CHOICES.map((choice) => (
        <label key={choice.value} className="choice">
          <input type="radio" name={id} value={choice.value} checked={backlog === choice.value} onChange={() => onChange(choice.value)} /> {choice.label}{" "}
          <span className="muted">({choice.value}: {choice.help})</span>
        </label>
      ))}
      <p className="help" id={`${id}-count`} role="status" aria-live="polite">
        {counts ? startsInWords(counts, backlog) : counting}
      </p>
      {error && <p className="error">{error}</p>}
    </fieldset>
  );
}

/** "Saved with new, this starts 0 sessions now; all would start 12." */
export function startsInWords(counts: StartCounts, backlog: Backlog): string {
  const n = (k: number) => `${k} session${k === 1 ? "" : "s"}`;
  const all = `all would start ${n(counts.wouldStartWithAll)}`;
  if (backlog === "all") return `Saved with all, this starts ${n(counts.wouldStartWithAll)} now (max sessions per poll each minute).`;
  if (counts.backlog === backlog) return `Saved with ${backlog}, this starts ${n(counts.wouldStart)} now; ${all}.`;
  return `${all[0].toUpperCase()}${all.slice(1)} now; preview again to count what ${backlog} starts.`;
}

export const ACKNOWLEDGE_CHOICES: Record<Acknowledge, string> = {
  none: "nothing (intake only reads the issue)",
  reaction: "a 👀 reaction",
  comment: "one comment naming the session",
  label: "the in-progress label",
};

export const ACKNOWLEDGE_HELP = "Anything but none needs write access to issues (Issues: Read and write); without it GitHub refuses, and the session is launched all the same.";

export const JIRA_ACKNOWLEDGE_HELP = "Jira has no reactions. A comment needs the Add Comments permission, a label Edit Issues; without it Jira refuses, and the session is launched all the same.";

/** What intake writes on the issue once its session is launched: nothing by default (no reaction on Jira). */
function AcknowledgeField({ provider, acknowledge, onChange, error }: { provider: Provider; acknowledge: Acknowledge; onChange: (a: Acknowledge) => void; error?: string }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>Once a session is launched, write on the issue</label>
      <select
        id={id}
        value={acknowledge}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : `${id}-help`}
        onChange={(e) => onChange(e.target.value as Acknowledge)}
      >
        {acknowledgeKindsOf(provider).map((kind) => (
          <option key={kind} value={kind}>
            {kind}: {ACKNOWLEDGE_CHOICES[kind]}
          </option>
        ))}
      </select>
      {!error && (
        <p className="help" id={`${id}-help`}>
          {provider === "jira" ? JIRA_ACKNOWLEDGE_HELP : ACKNOWLEDGE_HELP}
        </p>
      )}
      {error && (
        <p className="error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}
