import axe from "axe-core";
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Project } from "../src/api";
import { ProjectView } from "../src/ProjectView";
import { RuleSummary } from "../src/RuleSummary";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const AXE_OPTIONS = { rules: { "color-contrast": { enabled: false } } };

const GITHUB = {
  id: "web",
  name: null,
  gitOrigin: "git@github.com:acme/app.git",
  trackerIntake: { enabled: true, provider: "github", repo: null, labels: ["agent", "bug"], assignee: "*", excludeLabels: null, maxSessionsPerPoll: 10, credential: null, authors: ["OWNER", "MEMBER", "COLLABORATOR"], memberWriteCheck: true, backlog: "new", acknowledge: "none" },
  version: 3,
  intake: { state: "ok", repo: "acme/app", consecutiveFailures: 0 },
} as unknown as Project;

const LINEAR = { ...GITHUB, id: "eng", trackerIntake: { ...GITHUB.trackerIntake, provider: "linear", team: "ENG", assignee: "ada@acme.test", authors: ["MEMBER", "GUEST"], acknowledge: "comment", credential: "linear-bot" }, intake: { state: "ok", repo: null, consecutiveFailures: 0 } } as unknown as Project;

const JIRA = { ...GITHUB, id: "proj", trackerIntake: { ...GITHUB.trackerIntake, provider: "jira", site: "acme.atlassian.net", project: "PROJ", assignee: "none", authors: ["MEMBER"], excludeLabels: [], backlog: "all", acknowledge: "label", maxSessionsPerPoll: 3 }, intake: { state: "ok", repo: null, consecutiveFailures: 0 } } as unknown as Project;

/** The summary as term → description. */
function facts(): Record<string, string> {
  const list = screen.getByLabelText("Rule summary");
  const terms = within(list).getAllByRole("term");
  return Object.fromEntries(terms.map((t) => [t.textContent ?? "", t.nextElementSibling?.textContent ?? ""]));
}

describe("the settings summary", () => {
  it("reads a GitHub rule in plain words: the repository, labels, assignee, excludes, author associations, backlog, acknowledgement, max per poll, credential", () => {
    render(<RuleSummary project={GITHUB} />);
    expect(facts()).toEqual({
      Intake: "on: polled every minute",
      Tracker: "GitHub",
      Repository: "acme/app (from the git origin)",
      Labels: "agent, bug (an issue needs every one)",
      Assignee: "any assignee (* : the issue has one)",
      "Excluded labels": "in-progress, in-review (the default)",
      "Authors (GitHub's author association)": "OWNER, MEMBER, COLLABORATOR (the default); members need write access",
      Backlog: "new: only issues that match from now on",
      Acknowledgement: "none: nothing (intake only reads the issue)",
      "Max sessions per poll": "10",
      Credential: "the deployment's default",
    });
  });

  it("names Linear's fields: the team, an email assignee, the creator kinds", () => {
    render(<RuleSummary project={LINEAR} />);
    const f = facts();
    expect(f.Tracker).toBe("Linear");
    expect(f.Team).toBe("ENG");
    expect(f.Assignee).toBe("ada@acme.test (email)");
    expect(f["Creators (Linear's kinds)"]).toBe("MEMBER, GUEST widened to GUEST");
    expect(f.Credential).toBe("linear-bot");
    expect(f.Repository).toBeUndefined();
  });

  it("names Jira's fields: the site and project, the reporter kinds", () => {
    render(<RuleSummary project={JIRA} />);
    const f = facts();
    expect(f.Tracker).toBe("Jira");
    expect(f["Site and project"]).toBe("project PROJ on acme.atlassian.net");
    expect(f.Assignee).toBe("no assignee (none: unassigned issues)");
    expect(f["Reporters (Jira's kinds)"]).toBe("MEMBER (the default)");
    expect(f["Excluded labels"]).toBe("none");
    expect(f.Backlog).toBe("all: every matching open issue, the backlog too");
    expect(f.Acknowledgement).toBe("label: the in-progress label");
    expect(f["Max sessions per poll"]).toBe("3");
  });

  it("says intake off for a disabled rule", () => {
    render(<RuleSummary project={{ ...GITHUB, trackerIntake: { ...GITHUB.trackerIntake!, enabled: false } }} />);
    expect(facts().Intake).toBe("intake off: nothing is polled");
  });

  it("has nothing axe finds, for each tracker", async () => {
    for (const project of [GITHUB, LINEAR, JIRA]) {
      const { container } = render(<RuleSummary project={project} />);
      expect((await axe.run(container, AXE_OPTIONS)).violations).toEqual([]);
      cleanup();
    }
  });
});

describe("the Settings tab", () => {
  it("shows the summary until Edit settings opens the form, and Close goes back to it", async () => {
    // GIVEN the project page on its Settings tab
    vi.stubGlobal("fetch", vi.fn(async (path: string) => new Response(JSON.stringify(path.startsWith("projects/web/") ? { items: [], nextToken: null } : GITHUB), { status: 200 })));
    render(<ProjectView id="web" tab="settings" />);
    // THEN the rule reads as a summary, and no field can be edited
    expect(await screen.findByLabelText("Rule summary")).toBeTruthy();
    expect(screen.queryByLabelText("Assignee")).toBeNull();
    // WHEN Edit settings is pressed THEN the form opens on the stored rule
    fireEvent.click(screen.getByRole("button", { name: "Edit settings" }));
    expect((screen.getByLabelText("Assignee") as HTMLInputElement).value).toBe("*");
    // WHEN it is closed THEN the summary is back
    fireEvent.click(screen.getByRole("button", { name: "Close" }));
    expect(screen.getByLabelText("Rule summary")).toBeTruthy();
  });
});
