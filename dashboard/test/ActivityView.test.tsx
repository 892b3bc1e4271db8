import axe from "axe-core";
import { cleanup, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ActivityView } from "../src/ActivityView";
import type { PollView, Project } from "../src/api";
import { ProjectView } from "../src/ProjectView";
import { aPoll, aSession } from "./fixtures";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const AXE_OPTIONS = { rules: { "color-contrast": { enabled: false } } };
const NOW = new Date("2026-12-05T09:00:00Z");

const POLLS: PollView[] = [
  aPoll({ at: "2026-12-05T08:59:00Z", result: "changed", requests: 3, pages: 2, notModified: 1, newSessions: ["github:acme/app#42", "github:acme/app#43"], errorKind: null, error: null, backoffUntil: null }),
  aPoll({ at: "2026-12-05T08:50:00Z", result: "failed", requests: 1, pages: 0, notModified: 0, errorKind: "tracker_unavailable", error: "tracker_unavailable: GitHub answered 502", backoffUntil: "2026-12-05T08:51:00Z" }),
  aPoll({ at: "2026-12-05T08:40:00Z", result: "not_modified", requests: 2, pages: 2, notModified: 2 }),
];

function cells(row: HTMLElement): string[] {
  return within(row).getAllByRole("cell").map((c) => c.textContent ?? "");
}

describe("the activity view", () => {
  it("lists the recent polls newest first: time, result, requests, pages, 304s, new sessions and error", () => {
    // GIVEN three recorded polls, the newest a change that started two sessions
    render(<ActivityView polls={POLLS} sessions={[aSession()]} now={NOW} />);
    const table = screen.getByRole("table", { name: "Recent polls" });
    // THEN its columns are named
    expect(within(table).getAllByRole("columnheader").map((h) => h.textContent)).toEqual(["Time", "Result", "Requests", "Pages", "304s", "New sessions", "Error"]);
    // AND each poll is a row, newest first, in words
    const [, ...rows] = within(table).getAllByRole("row");
    expect(rows.map(cells)).toEqual([
      ["1 min ago", "changed", "3", "2", "1", "#42#43", "—"],
      ["10 min ago", "failed", "1", "0", "0", "—", "The tracker did not answer: GitHub answered 502."],
      ["20 min ago", "nothing changed", "2", "2", "2", "—", "—"],
    ]);
    // AND each time holds its UTC time on hover, each new session its canonical id
    expect(within(rows[0]).getByText("1 min ago").getAttribute("title")).toBe("2026-12-05 08:59:00 UTC");
    expect(within(rows[0]).getByText("#42").getAttribute("title")).toBe("github:acme/app#42");
    expect(within(rows[0]).getByRole("list", { name: "2 new sessions" })).toBeTruthy();
  });

  it("names a Linear or Jira session by its identifier when the page knows it", () => {
    // GIVEN a poll that started ENG-7, a session the page holds
    const linear = aSession({ issueId: "linear:acme/0b6f", provider: "linear", identifier: "ENG-7", number: 7 });
    render(<ActivityView polls={[{ ...POLLS[0], newSessions: ["linear:acme/0b6f", "jira:acme.atlassian.net/10001"] }]} sessions={[linear]} now={NOW} />);
    // THEN the chip reads ENG-7; a session it does not know reads its canonical id
    expect(screen.getByText("ENG-7").getAttribute("title")).toBe("linear:acme/0b6f");
    expect(screen.getByText("jira:acme.atlassian.net/10001")).toBeTruthy();
  });

  it("says when no poll is recorded yet", () => {
    render(<ActivityView polls={[]} sessions={[]} now={NOW} />);
    expect(screen.getByText(/No polls recorded yet/)).toBeTruthy();
    expect(screen.queryByRole("table")).toBeNull();
  });

  it("has nothing axe finds, with polls and without", async () => {
    const { container } = render(<ActivityView polls={POLLS} sessions={[]} now={NOW} />);
    expect((await axe.run(container, AXE_OPTIONS)).violations).toEqual([]);
    cleanup();
    const empty = render(<ActivityView polls={[]} sessions={[]} now={NOW} />);
    expect((await axe.run(empty.container, AXE_OPTIONS)).violations).toEqual([]);
  });

  it("is the project page's Activity tab, read from the polls route", async () => {
    // GIVEN the API lists demo's polls
    const project = { id: "demo", name: null, gitOrigin: null, trackerIntake: null, version: 1, intake: { state: "disabled", consecutiveFailures: 0 } } as unknown as Project;
    const fetch = vi.fn(async (path: string) => {
      const body = path.startsWith("projects/demo/polls") ? { items: POLLS, nextToken: null } : path.startsWith("projects/demo/sessions") ? { items: [], nextToken: null } : project;
      return new Response(JSON.stringify(body), { status: 200 });
    });
    vi.stubGlobal("fetch", fetch);
    // WHEN the Activity tab is open
    render(<ProjectView id="demo" tab="activity" />);
    // THEN its table lists them
    const table = await screen.findByRole("table", { name: "Recent polls" });
    expect(within(table).getAllByRole("row")).toHaveLength(4);
    expect(fetch.mock.calls.some(([path]) => String(path).startsWith("projects/demo/polls?limit="))).toBe(true);
  });
});
