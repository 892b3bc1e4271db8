// The intake rule's fields, shared by the create sheet (compact) and the Tracker Intake card.
import { checkLabels, checkMaxSessions, checkString, RULES, ruleIsSet } from "./rules";
import { DEFAULT_EXCLUDES } from "./format";
import { ChipsInput, Switch, TextField } from "./ui";
import type { ApiError, TrackerIntake } from "./api";

export type Draft = {
  enabled: boolean;
  repo: string;
  labels: string[];
  assignee: string;
  excludeLabels: string[] | null; // null: the default (in-progress, in-review)
  maxSessionsPerPoll: number;
};

export const ENABLE_INFO =
  "When on, every minute intake finds the repository's open issues that match the rule and starts one worker session per issue, ever.";

export function draftOf(intake: TrackerIntake | null | undefined): Draft {
  return {
    enabled: intake?.enabled ?? false,
    repo: intake?.repo ?? "",
    labels: intake?.labels ?? [],
    assignee: intake?.assignee ?? "",
    excludeLabels: intake?.excludeLabels ?? null,
    maxSessionsPerPoll: intake?.maxSessionsPerPoll ?? 10,
  };
}

export function intakeOf(draft: Draft): TrackerIntake {
  return {
    enabled: draft.enabled,
    provider: "github",
    repo: draft.repo.trim() || null,
    labels: draft.labels,
    assignee: draft.assignee.trim() || null,
    excludeLabels: draft.excludeLabels,
    maxSessionsPerPoll: draft.maxSessionsPerPoll,
  };
}

export type Problems = Partial<Record<"repo" | "labels" | "assignee" | "excludeLabels" | "maxSessionsPerPoll", string>>;

/** What is wrong with the draft, by field, from the published rules; empty when it may be sent. */
export function problemsOf(draft: Draft): Problems {
  const problems: Problems = {};
  if (draft.repo.trim()) problems.repo = checkString(RULES.repo, draft.repo.trim(), "Repository");
  problems.labels = checkLabels(draft.labels, RULES.labels, "labels");
  if (draft.assignee.trim()) problems.assignee = checkString(RULES.assignee, draft.assignee.trim(), "Assignee");
  if (draft.excludeLabels) problems.excludeLabels = checkLabels(draft.excludeLabels, RULES.excludeLabels, "exclude labels");
  problems.maxSessionsPerPoll = checkMaxSessions(draft.maxSessionsPerPoll);
  if (draft.enabled && !ruleIsSet(draft.labels, draft.assignee)) problems.labels ??= "Enabling intake requires a label or an assignee.";
  for (const key of Object.keys(problems) as (keyof Problems)[]) if (!problems[key]) delete problems[key];
  return problems;
}

/** The API's reason for a field of trackerIntake, else the local one. */
function shown(field: keyof Problems, problems: Problems, refused: ApiError | null): string | undefined {
  return refused?.reasonFor(`trackerIntake.${field}`) ?? problems[field];
}

export function IntakeFields({ draft, onChange, refused, compact }: { draft: Draft; onChange: (d: Draft) => void; refused: ApiError | null; compact?: boolean }) {
  const problems = problemsOf(draft);
  const set = (patch: Partial<Draft>) => onChange({ ...draft, ...patch });
  return (
    <>
      <Switch label="Tracker intake" checked={draft.enabled} onChange={(enabled) => set({ enabled })} info={ENABLE_INFO} />
      {!compact && (
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
        placeholder="type username or * for any"
        help={<>A login; <code>*</code> = has an assignee; <code>none</code> = unassigned.</>}
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
        </>
      )}
    </>
  );
}
