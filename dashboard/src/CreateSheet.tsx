import { useState } from "react";
import { ApiError, createProject, previewNewProject, type Project } from "./api";
import { draftOf, intakeOf, IntakeFields, problemsOf, type Draft, type StartCounts } from "./IntakeFields";
import { checkString, DEFAULT_ACKNOWLEDGE, RULES, ruleIsSet } from "./rules";
import { Dialog, TextField } from "./ui";

// The fields this sheet renders, where the API's reasons are shown; any other is said below.
const SHOWN_AT_A_FIELD = ["id", "name", "gitOrigin", "trackerIntake.provider", "trackerIntake.team", "trackerIntake.site", "trackerIntake.project", "trackerIntake.labels", "trackerIntake.assignee", "trackerIntake.backlog", "trackerIntake.acknowledge"];

/** The create-project sheet: id, name, git origin, and the compact intake fields. */
export function CreateSheet({ onClose, onCreated }: { onClose: () => void; onCreated: (p: Project) => void }) {
  const [id, setId] = useState("");
  const [name, setName] = useState("");
  const [gitOrigin, setGitOrigin] = useState("");
  const [draft, setDraft] = useState(draftOf(null));
  const [refused, setRefused] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  // What switching on would start, from a preview of the draft (cleared when the rule changes).
  const [counts, setCounts] = useState<StartCounts | null>(null);
  const [countFailure, setCountFailure] = useState<string | null>(null);
  const [counting, setCounting] = useState(false);

  const idProblem = id ? checkString(RULES.id, id, "Project id") : undefined;
  const originProblem = gitOrigin ? checkString(RULES.gitOrigin, gitOrigin, "Git origin") : undefined;
  const intakeProblems = problemsOf(draft);
  // Submit stays disabled until the project has an id and a rule that can be sent.
  const ready = id !== "" && !idProblem && !originProblem && Object.keys(intakeProblems).length === 0 && (!draft.enabled || ruleIsSet(draft.labels, draft.assignee));

  const edit = (next: Draft) => {
    const sameRule = JSON.stringify({ ...intakeOf(next), backlog: null, acknowledge: null }) === JSON.stringify({ ...intakeOf(draft), backlog: null, acknowledge: null });
    if (!sameRule) setCounts(null);
    setDraft(next);
  };
  const linear = draft.provider === "linear";
  const jira = draft.provider === "jira";
  // A Linear rule reads its team, a Jira rule its site's project (required, so checked above); a GitHub one a repository.
  const hasSource = linear || jira || draft.repo.trim() !== "" || (gitOrigin.trim() !== "" && !originProblem);
  const countable = ruleIsSet(draft.labels, draft.assignee) && Object.keys(intakeProblems).length === 0 && hasSource;
  const count = async () => {
    setCounting(true);
    setCountFailure(null);
    try {
      const preview = await previewNewProject(gitOrigin.trim() || null, intakeOf({ ...draft, enabled: true }));
      setCounts({ backlog: draft.backlog, wouldStart: preview.wouldStart, wouldStartWithAll: preview.wouldStartWithAll });
    } catch (e) {
      setCountFailure(e instanceof ApiError ? e.message : String(e));
    } finally {
      setCounting(false);
    }
  };

  const submit = async () => {
    setBusy(true);
    setRefused(null);
    try {
      const created = await createProject({
        id,
        name: name.trim() || null,
        gitOrigin: gitOrigin.trim() || null,
        // A chosen acknowledgement is kept even with intake off and no rule yet.
        trackerIntake: draft.enabled || linear || jira || draft.labels.length || draft.assignee || draft.acknowledge !== DEFAULT_ACKNOWLEDGE ? intakeOf(draft) : null,
      });
      onCreated(created);
    } catch (e) {
      setRefused(e instanceof ApiError ? e : new ApiError(0, String(e)));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog title="New project" onClose={onClose} footer>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (ready && !busy) void submit();
        }}
      >
        <div className="dialog-body">
          <TextField label="Project id" value={id} onChange={setId} required placeholder="e.g. web-app" error={refused?.reasonFor("id") ?? idProblem} />
          <TextField label="Name" value={name} onChange={setName} error={refused?.reasonFor("name")} />
          <TextField
            label="Git origin"
            value={gitOrigin}
            onChange={(v) => {
              setGitOrigin(v);
              setCounts(null);
            }}
            placeholder="git@github.com:owner/name.git"
            error={refused?.reasonFor("gitOrigin") ?? originProblem}
          />
          <IntakeFields
            draft={draft}
            onChange={edit}
            refused={refused}
            compact
            counts={counts}
            counting={
              <>
                <button type="button" className="link" disabled={!countable || counting} onClick={() => void count()}>
                  {counting ? "Counting…" : "Count what all would start"}
                </button>
                {!countable && <span className="muted"> ({linear ? "needs a team" : jira ? "needs a site and a project" : "needs a git origin"} and a label or an assignee)</span>}
                {countFailure && <span className="error-text"> {countFailure}</span>}
              </>
            }
          />
          {refused && (refused.fields.length === 0 || refused.fields.some((p) => !SHOWN_AT_A_FIELD.some((f) => p.field === f || p.field.startsWith(`${f}.`)))) && (
            <p className="error" role="alert">
              {refused.message}
            </p>
          )}
        </div>
        <div className="actions dialog-footer">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={!ready || busy}>
            Create project
          </button>
        </div>
      </form>
    </Dialog>
  );
}
