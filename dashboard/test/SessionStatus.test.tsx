import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Project, Session } from "../src/api";
import { pullRequestName, sessionStatusWords } from "../src/format";
import { ProjectView } from "../src/ProjectView";
import { aSession } from "./fixtures";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const PR = "https://github.com/acme/app/pull/43";

const project: Project = {
  id: "demo",
  name: "Demo app",
  gitOrigin: "git@github.com:acme/app.git",
  trackerIntake: { enabled: true, provider: "github", repo: null, labels: ["agent"], assignee: null, excludeLabels: null, maxSessionsPerPoll: 10, credential: null, authors: ["OWNER", "MEMBER", "COLLABORATOR"], memberWriteCheck: true, backlog: "new", acknowledge: "none" },
  version: 1,
  intake: { state: "ok", repo: "acme/app", consecutiveFailures: 0 },
};

/** The API, as the dashboard reads it: the project, and its sessions. */
function serve(sessions: Session[]) {
  vi.stubGlobal(
    "fetch",
    vi.fn(async (path: string) => {
      const body = path.startsWith("projects/demo/sessions") ? { items: sessions, nextToken: null } : project;
      return new Response(JSON.stringify(body), { status: 200 });
    }),
  );
}

describe("the session status its backend reports", () => {
  it("is in the session's row beside the claim's status, and the inspector links the pull request", async () => {
    // GIVEN a launched session whose backend reported a PR
    serve([
      aSession({
        sessionStatus: "pr_open",
        prUrl: PR,
        statusHistory: [
          { status: "working", at: "2026-11-24T12:01:00.000000Z", prUrl: null },
          { status: "pr_open", at: "2026-11-24T12:09:00.000000Z", prUrl: PR },
        ],
      }),
    ]);
    // WHEN the project page shows it
    render(<ProjectView id="demo" />);
    const row = (await screen.findByText("Crash on empty config")).closest("tr") as HTMLElement;
    // THEN the row says PR open (the session) and launched (the claim)
    expect(within(row).getByText("launched")).toBeTruthy();
    expect(within(row).getByText("PR open")).toBeTruthy();
    // AND the inspector links the PR
    fireEvent.click(row);
    const fact = within(screen.getByRole("dialog")).getByText("Pull request").nextElementSibling as HTMLElement;
    expect(within(fact).getByRole("link", { name: "pull request acme/app#43" }).getAttribute("href")).toBe(PR);
  });

  it("is in the inspector with its history, oldest first", async () => {
    // GIVEN the same session
    serve([
      aSession({
        sessionStatus: "ci_failed",
        prUrl: PR,
        statusHistory: [
          { status: "working", at: "2026-11-24T12:01:00.000000Z", prUrl: null },
          { status: "pr_open", at: "2026-11-24T12:09:00.000000Z", prUrl: PR },
          { status: "ci_failed", at: "2026-11-24T12:20:00.000000Z", prUrl: null },
        ],
      }),
    ]);
    render(<ProjectView id="demo" />);
    // WHEN it is inspected
    fireEvent.click((await screen.findByText("Crash on empty config")).closest("tr") as HTMLElement);
    const dialog = screen.getByRole("dialog");
    // THEN the status, the PR and each report with its time are listed in order
    expect(within(dialog).getByText("Session status").nextElementSibling?.textContent).toBe("CI failed");
    const history = within(dialog).getByRole("list", { name: "status history, oldest first" });
    const items = within(history).getAllByRole("listitem").map((li) => li.textContent ?? "");
    expect(items).toHaveLength(3);
    expect(items.map((text) => text.replace(/^.*? (working|PR open|CI failed)/, "$1"))).toEqual([
      "working",
      "PR open pull request acme/app#43",
      "CI failed",
    ]);
    expect(within(history).getAllByRole("listitem")[0].querySelector("time")?.getAttribute("dateTime")).toBe("2026-11-24T12:01:00Z");
  });

  it("says so when nothing was reported", async () => {
    // GIVEN a session whose backend never reported
    serve([aSession({})]);
    render(<ProjectView id="demo" />);
    // WHEN it is inspected THEN the inspector says none was reported, and the card shows no status
    fireEvent.click((await screen.findByText("Crash on empty config")).closest("tr") as HTMLElement);
    expect(screen.getByText("none reported")).toBeTruthy();
    expect(screen.getByText("The session's backend has reported no status yet.")).toBeTruthy();
  });

  it("reads each status in words, and only a pull request URL as a pull request", () => {
    expect(["working", "needs_input", "pr_open", "ci_failed", "merged", "failed", "terminated"].map(sessionStatusWords)).toEqual([
      "working",
      "needs input",
      "PR open",
      "CI failed",
      "merged",
      "failed",
      "terminated",
    ]);
    expect(pullRequestName(PR)).toBe("acme/app#43");
    expect(pullRequestName("javascript:alert(1)//github.com/a/b/pull/1")).toBeNull();
    expect(pullRequestName("https://github.com/acme/app/issues/43")).toBeNull();
  });
});
