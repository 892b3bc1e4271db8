import { describe, expect, it } from "vitest";
import { ruleInWords, sentence } from "../src/format";
import { draftOf, intakeOf, problemsOf } from "../src/IntakeFields";
import { ASSOCIATIONS, checkLabels, checkString, DEFAULT_AUTHORS, DEFAULT_BACKLOG, RULES } from "../src/rules";

describe("the rules come from the API's OpenAPI document", () => {
  it("refuses a label the API refuses: a comma, a space at an end, a control character", () => {
    // GIVEN the label rule as the API publishes it
    // WHEN labels are checked THEN the API's refusals are refused here too
    expect(checkString(RULES.label, "bug", "A label")).toBeUndefined();
    expect(checkString(RULES.label, "good first issue", "A label")).toBeUndefined();
    expect(checkString(RULES.label, "a,b", "A label")).toMatch(/comma/);
    expect(checkString(RULES.label, " bug", "A label")).toBeDefined();
    expect(checkString(RULES.label, "bug\u0085", "A label")).toBeDefined();
    expect(checkString(RULES.label, "x".repeat(51), "A label")).toMatch(/at most 50/);
  });

  it("counts characters as the API does (code points), and folds case as it does", () => {
    // GIVEN 26 emoji (52 UTF-16 units, 26 characters) and two spellings of one German word
    expect(checkString(RULES.label, "🦊".repeat(26), "A label")).toBeUndefined();
    expect(checkLabels(["Straße", "STRASSE"], RULES.labels, "labels")).toMatch(/unique/);
  });

  it("takes *, none and logins as assignees, and no other spelling of none", () => {
    for (const ok of ["*", "none", "marta-k"]) expect(checkString(RULES.assignee, ok, "Assignee")).toBeUndefined();
    for (const bad of ["None", "-x", "a--b", "two words"]) expect(checkString(RULES.assignee, bad, "Assignee")).toBeDefined();
  });

  it("checks the repository as owner/name without .git", () => {
    expect(checkString(RULES.repo, "acme/app", "Repository")).toBeUndefined();
    expect(checkString(RULES.repo, "acme/app.git", "Repository")).toBeDefined();
    expect(checkString(RULES.repo, "acme", "Repository")).toBeDefined();
  });
});

describe("a draft rule", () => {
  it("needs a label or an assignee once intake is on", () => {
    // GIVEN intake switched on with no rule
    const draft = { ...draftOf(null), enabled: true };
    // THEN it may not be sent, and says why on the labels field
    expect(problemsOf(draft).labels).toBe("Enabling intake requires a label or an assignee.");
    expect(problemsOf({ ...draft, assignee: "*" })).toEqual({});
  });

  it("reads GitHub's associations and the safe defaults from the API's document", () => {
    // GIVEN the published TrackerIntake schema
    // WHEN the form reads it THEN it offers every association, with only the trusted ones on by default, and `new`
    expect(ASSOCIATIONS).toEqual(["OWNER", "MEMBER", "COLLABORATOR", "CONTRIBUTOR", "FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER", "MANNEQUIN", "NONE"]);
    expect(DEFAULT_AUTHORS).toEqual(["OWNER", "MEMBER", "COLLABORATOR"]);
    expect(DEFAULT_BACKLOG).toBe("new");
    expect(draftOf(null)).toMatchObject({ authors: DEFAULT_AUTHORS, backlog: "new" });
  });

  it("refuses a draft that allows no author, as the API does", () => {
    // GIVEN a draft with every association unticked
    const draft = { ...draftOf(null), enabled: true, labels: ["agent"], authors: [] };
    // WHEN it is checked THEN it may not be sent, and says why
    expect(problemsOf(draft).authors).toMatch(/at least one association/);
  });

  it("shows the poller's last error as a sentence", () => {
    expect(sentence("tracker_unavailable: GitHub is unavailable (500) for acme/flaky")).toBe("GitHub is unavailable (500) for acme/flaky.");
  });

  it("reads as a sentence", () => {
    const intake = { enabled: true, provider: "github" as const, labels: ["agent"], assignee: "*", excludeLabels: null, maxSessionsPerPoll: 5, authors: DEFAULT_AUTHORS, memberWriteCheck: true, backlog: "new" as const, acknowledge: "none" as const };
    expect(ruleInWords(intake)).toBe("open issues labelled agent, with any assignee, except in-progress, in-review; up to 5 a poll");
    // AND a rule widened beyond the default authors says so
    expect(ruleInWords({ ...intake, authors: [...DEFAULT_AUTHORS, "NONE"] })).toBe(
      "open issues labelled agent, with any assignee, except in-progress, in-review; by OWNER, MEMBER, COLLABORATOR, NONE; up to 5 a poll",
    );
    // AND a rule whose members' write access is not checked says so
    expect(ruleInWords({ ...intake, memberWriteCheck: false })).toBe(
      "open issues labelled agent, with any assignee, except in-progress, in-review; members without a write-access check; up to 5 a poll",
    );
  });
});

describe("the members' write-access check", () => {
  it("is on in a new draft, and a rule that switched it off keeps it off when saved again", () => {
    // GIVEN a new draft, and the draft of a stored rule that switched the check off
    expect(draftOf(null).memberWriteCheck).toBe(true);
    const stored = { enabled: true, provider: "github" as const, labels: ["agent"], assignee: null, excludeLabels: null, maxSessionsPerPoll: 10, authors: DEFAULT_AUTHORS, memberWriteCheck: false, backlog: "new" as const, acknowledge: "none" as const };
    // WHEN the draft is turned back into the rule a save sends
    // THEN the choice survives: saving from the dashboard never switches the check back on
    expect(intakeOf(draftOf(stored)).memberWriteCheck).toBe(false);
  });
});
