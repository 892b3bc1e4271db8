import axe from "axe-core";
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Session } from "../src/api";
import { SessionsTable } from "../src/SessionsTable";
import { aSession } from "./fixtures";

afterEach(cleanup);

/** axe in jsdom: no layout, so no colour contrast (the browser journeys check it). */
const AXE_OPTIONS = { rules: { "color-contrast": { enabled: false } } };

const NOW = new Date("2026-12-04T18:00:00Z");
const CLAIM_STATES = ["launched", "launched", "launching", "failed", "released", "backlog"] as const;
const TITLES = ["Crash on empty config", "Docs typo", "Slow search", "Login fails on Safari"];

/** `count` sessions of acme/app: #1 claimed most recently, one a 37 minutes older than the one before;
 * every 7th reports PR open, every 5th was acknowledged with a reaction, every 3rd was updated. */
function manySessions(count: number): Session[] {
  return Array.from({ length: count }, (_, i) => {
    const n = i + 1;
    const claimed = new Date(NOW.getTime() - i * 37 * 60_000).toISOString();
    return aSession({
      issueId: `github:acme/app#${n}`,
      number: n,
      url: `https://github.com/acme/app/issues/${n}`,
      title: `${TITLES[i % TITLES.length]} ${n}`,
      status: CLAIM_STATES[i % CLAIM_STATES.length],
      sessionStatus: n % 7 === 0 ? "pr_open" : null,
      claimedAt: claimed,
      updatedAt: n % 3 === 0 ? new Date(NOW.getTime() - n * 1000).toISOString() : null,
      acknowledgement: n % 5 === 0 ? { kind: "reaction", state: n % 10 === 0 ? "refused" : "done", attempts: 1, updatedAt: claimed } : null,
    });
  });
}

const SESSIONS = manySessions(1000);

function show(sessions: Session[] = SESSIONS, onOpen: (s: Session) => void = () => {}) {
  return render(<SessionsTable sessions={sessions} now={NOW} onOpen={onOpen} />);
}

/** The table's body rows, each as its cells' text. */
function rows(): string[][] {
  const table = screen.getByRole("table", { name: "Sessions" });
  return within(table)
    .getAllByRole("row")
    .slice(1)
    .map((row) => within(row).getAllByRole("cell").map((cell) => cell.textContent ?? ""));
}

function header(name: string): HTMLElement {
  return screen.getByRole("columnheader", { name: new RegExp(`^${name}`) });
}

function sortBy(name: string) {
  fireEvent.click(within(header(name)).getByRole("button"));
}

describe("the sessions table", () => {
  it("shows 25 rows a page, newest claim first, and counts every session", () => {
    // GIVEN 1,000 sessions WHEN the table shows them
    show();
    // THEN page 1 of 40 holds the 25 newest claims, Claimed sorted descending
    expect(rows()).toHaveLength(25);
    expect(rows()[0][0]).toBe("#1");
    expect(rows()[24][0]).toBe("#25");
    expect(header("Claimed").getAttribute("aria-sort")).toBe("descending");
    expect(header("Title").getAttribute("aria-sort")).toBe("none");
    expect(screen.getByText("1,000 sessions")).toBeTruthy();
    expect(screen.getByText("Page 1 of 40")).toBeTruthy();
  });

  it("has the columns the issue asks for, each cell filled", () => {
    // GIVEN a session reporting PR open, acknowledged, updated WHEN shown
    show([
      aSession({
        sessionStatus: "pr_open",
        updatedAt: "2026-12-04T17:58:00Z",
        claimedAt: "2026-12-04T17:57:00Z",
        acknowledgement: { kind: "comment", state: "done", attempts: 1, updatedAt: "2026-12-04T17:58:00Z" },
      }),
    ]);
    // THEN issue chip, title, reported status beside the claim's, acknowledgement, claimed, updated
    expect(screen.getAllByRole("columnheader").map((th) => th.textContent?.replace(/[▲▼]/, ""))).toEqual(["Issue", "Title", "Status", "Acknowledgement", "Claimed", "Updated"]);
    expect(rows()[0]).toEqual(["#42", "Crash on empty config", "PR open launched", "comment done", "3 min ago", "2 min ago"]);
    expect(screen.getByRole("link", { name: "#42" }).getAttribute("href")).toBe("https://github.com/acme/app/issues/42");
    expect(screen.getByText("3 min ago").getAttribute("title")).toBe("2026-12-04 17:57:00 UTC");
  });

  it("links an acknowledgement comment, and gives a refusal's reason on hover", () => {
    // GIVEN a comment done (with its URL) and a reaction refused WHEN shown
    const COMMENT = "https://github.com/acme/app/issues/42#issuecomment-1";
    show([
      aSession({ acknowledgement: { kind: "comment", state: "done", attempts: 1, updatedAt: "2026-12-04T17:58:00Z", url: COMMENT } }),
      aSession({
        issueId: "github:acme/app#43",
        number: 43,
        claimedAt: "2026-11-24T11:00:00.000000Z",
        acknowledgement: { kind: "reaction", state: "refused", attempts: 1, updatedAt: "2026-12-04T17:58:00Z", detail: "Resource not accessible by integration" },
      }),
    ]);
    // THEN the comment is a link, the refusal says why on hover
    expect(screen.getByRole("link", { name: "comment done" }).getAttribute("href")).toBe(COMMENT);
    expect(screen.getByText("reaction refused").getAttribute("title")).toBe("Resource not accessible by integration");
  });

  it("chips Linear's and Jira's identifiers, and GitHub's number", () => {
    // GIVEN one session from each tracker WHEN shown
    show([
      aSession(),
      aSession({ issueId: "linear:acme/0b5e", provider: "linear", identifier: "ENG-123", number: 123, url: "https://linear.app/acme/issue/ENG-123", claimedAt: "2026-12-04T17:00:00Z" }),
      aSession({ issueId: "jira:acme.atlassian.net/10001", provider: "jira", identifier: "PROJ-123", number: 123, url: "https://acme.atlassian.net/browse/PROJ-123", claimedAt: "2026-12-04T16:00:00Z" }),
    ]);
    // THEN each chip links the issue
    expect(screen.getByRole("link", { name: "ENG-123" }).getAttribute("href")).toBe("https://linear.app/acme/issue/ENG-123");
    expect(screen.getByRole("link", { name: "PROJ-123" }).getAttribute("href")).toBe("https://acme.atlassian.net/browse/PROJ-123");
    expect(screen.getByRole("link", { name: "#42" })).toBeTruthy();
  });
});

describe("sorting", () => {
  it("sorts by the issue, numbers in order, both ways", () => {
    // GIVEN 1,000 sessions WHEN sorted by Issue THEN #1, #2 ... ascending; again: #1000 first
    show();
    sortBy("Issue");
    expect(header("Issue").getAttribute("aria-sort")).toBe("ascending");
    expect(header("Claimed").getAttribute("aria-sort")).toBe("none");
    expect(rows().slice(0, 3).map((r) => r[0])).toEqual(["#1", "#2", "#3"]);
    sortBy("Issue");
    expect(header("Issue").getAttribute("aria-sort")).toBe("descending");
    expect(rows()[0][0]).toBe("#1000");
  });

  it("sorts by the title", () => {
    // GIVEN 1,000 sessions WHEN sorted by Title THEN the titles in order, "Crash" first
    show();
    sortBy("Title");
    const titles = rows().map((r) => r[1]);
    expect(titles.every((t) => t.startsWith("Crash on empty config"))).toBe(true);
    expect(header("Title").getAttribute("aria-sort")).toBe("ascending");
  });

  it("sorts by the status", () => {
    // GIVEN 1,000 sessions WHEN sorted by Status THEN backlog comes first (the alphabet), then on page 40 PR open
    show();
    sortBy("Status");
    expect(rows()[0][2]).toBe("backlog");
    for (let i = 0; i < 39; i++) fireEvent.click(screen.getByRole("button", { name: "Next page" }));
    expect(rows().at(-1)?.[2]).toBe("released");
  });

  it("sorts by the acknowledgement, sessions without one last", () => {
    // GIVEN 1,000 sessions, one in 5 acknowledged WHEN sorted by Acknowledgement
    show();
    sortBy("Acknowledgement");
    // THEN the reactions done first, and the ones without at the end either way
    expect(rows()[0][3]).toBe("reaction done");
    sortBy("Acknowledgement");
    expect(rows()[0][3]).toBe("reaction refused");
    for (let i = 0; i < 39; i++) fireEvent.click(screen.getByRole("button", { name: "Next page" }));
    expect(rows().at(-1)?.[3]).toBe("—");
  });

  it("sorts by the claim time, oldest first on a second click", () => {
    // GIVEN 1,000 sessions sorted newest first WHEN Claimed is clicked THEN the oldest claim first
    show();
    sortBy("Claimed");
    expect(header("Claimed").getAttribute("aria-sort")).toBe("ascending");
    expect(rows()[0][0]).toBe("#1000");
  });

  it("sorts by the update time, sessions never updated last", () => {
    // GIVEN sessions, one in 3 updated (#3 the most recently) WHEN sorted by Updated, newest first
    show();
    sortBy("Updated");
    // THEN #3 first; and the never updated at the end
    expect(header("Updated").getAttribute("aria-sort")).toBe("descending");
    expect(rows()[0][0]).toBe("#3");
    for (let i = 0; i < 39; i++) fireEvent.click(screen.getByRole("button", { name: "Next page" }));
    expect(rows().at(-1)?.[5]).toBe("—");
  });
});

describe("filtering and searching", () => {
  it("filters by status: the backend's reported one where there is one, else the claim's", () => {
    // GIVEN 1,000 sessions WHEN filtered by "PR open"
    show();
    const filter = screen.getByRole("combobox", { name: "Filter by status" });
    expect(within(filter).getAllByRole("option").map((o) => o.textContent)).toEqual(["All statuses", "backlog", "failed", "launched", "launching", "PR open", "released"]);
    fireEvent.change(filter, { target: { value: "PR open" } });
    // THEN the 142 sessions reporting PR open (every 7th), on 6 pages
    expect(screen.getByText("142 sessions")).toBeTruthy();
    expect(screen.getByText("Page 1 of 6")).toBeTruthy();
    expect(rows().every((r) => r[2].startsWith("PR open"))).toBe(true);
    // AND back to all statuses, all 1,000
    fireEvent.change(filter, { target: { value: "" } });
    expect(screen.getByText("1,000 sessions")).toBeTruthy();
  });

  it("keeps the status filtered on when a refresh leaves no session with it", () => {
    // GIVEN the filter on "failed" WHEN the sessions refresh without a failed one
    const { rerender } = show();
    fireEvent.change(screen.getByRole("combobox", { name: "Filter by status" }), { target: { value: "failed" } });
    rerender(<SessionsTable sessions={SESSIONS.filter((s) => s.status !== "failed")} now={NOW} onOpen={() => {}} />);
    // THEN the filter still says "failed", and nothing matches
    expect((screen.getByRole("combobox", { name: "Filter by status" }) as HTMLSelectElement).value).toBe("failed");
    expect(screen.getByText("No sessions match")).toBeTruthy();
  });

  it("searches the title, the identifier and the canonical id, ignoring case", () => {
    // GIVEN 1,000 sessions, and a Linear one
    show([...SESSIONS, aSession({ issueId: "linear:acme/0b5e", provider: "linear", identifier: "ENG-123", number: 123, title: "A Linear issue" })]);
    const search = screen.getByRole("searchbox", { name: "Search sessions" });
    // WHEN searching words of a title THEN its sessions
    fireEvent.change(search, { target: { value: "SAFARI 99" } });
    expect(rows().map((r) => r[1])).toEqual(["Login fails on Safari 992", "Login fails on Safari 996"]);
    // WHEN searching an identifier THEN that session
    fireEvent.change(search, { target: { value: "eng-123" } });
    expect(rows().map((r) => r[0])).toEqual(["ENG-123"]);
    // WHEN searching a canonical id THEN that session
    fireEvent.change(search, { target: { value: "github:acme/app#777" } });
    expect(rows().map((r) => r[0])).toEqual(["#777"]);
    expect(screen.getByText("1 session")).toBeTruthy();
  });

  it("says so when nothing matches", () => {
    // GIVEN 1,000 sessions WHEN a search matches none
    show();
    fireEvent.change(screen.getByRole("searchbox", { name: "Search sessions" }), { target: { value: "no such thing" } });
    // THEN an empty state, 0 sessions, page 1 of 1, both page buttons disabled
    expect(screen.getByText("No sessions match")).toBeTruthy();
    expect(screen.getByText("0 sessions")).toBeTruthy();
    expect(screen.getByText("Page 1 of 1")).toBeTruthy();
    expect((screen.getByRole("button", { name: "Previous page" }) as HTMLButtonElement).disabled).toBe(true);
    expect((screen.getByRole("button", { name: "Next page" }) as HTMLButtonElement).disabled).toBe(true);
  });

  it("goes back to page 1 when the search changes", () => {
    // GIVEN page 3 WHEN a search is typed THEN page 1 of what matches
    show();
    fireEvent.click(screen.getByRole("button", { name: "Next page" }));
    fireEvent.click(screen.getByRole("button", { name: "Next page" }));
    expect(screen.getByText("Page 3 of 40")).toBeTruthy();
    fireEvent.change(screen.getByRole("searchbox", { name: "Search sessions" }), { target: { value: "docs typo" } });
    expect(screen.getByText("Page 1 of 10")).toBeTruthy();
  });
});

describe("paging", () => {
  it("pages across 1,000 sessions, the buttons disabled at either end", () => {
    // GIVEN 1,000 sessions on page 1 THEN "Previous page" is disabled
    show();
    const previous = screen.getByRole("button", { name: "Previous page" }) as HTMLButtonElement;
    const next = screen.getByRole("button", { name: "Next page" }) as HTMLButtonElement;
    expect(previous.disabled).toBe(true);
    // WHEN "Next page" THEN #26 to #50
    fireEvent.click(next);
    expect(screen.getByText("Page 2 of 40")).toBeTruthy();
    expect(rows()[0][0]).toBe("#26");
    expect(previous.disabled).toBe(false);
    // WHEN on to the last page THEN #976 to #1000, and "Next page" is disabled
    for (let i = 0; i < 38; i++) fireEvent.click(next);
    expect(screen.getByText("Page 40 of 40")).toBeTruthy();
    expect(rows()[0][0]).toBe("#976");
    expect(rows().at(-1)?.[0]).toBe("#1000");
    expect(next.disabled).toBe(true);
    // WHEN "Previous page" THEN page 39
    fireEvent.click(previous);
    expect(screen.getByText("Page 39 of 40")).toBeTruthy();
  });

  it("stays on the last page that exists when the sessions shrink", () => {
    // GIVEN page 40 of 1,000 WHEN the sessions become 30 THEN page 2 of 2
    const { rerender } = show();
    for (let i = 0; i < 39; i++) fireEvent.click(screen.getByRole("button", { name: "Next page" }));
    rerender(<SessionsTable sessions={SESSIONS.slice(0, 30)} now={NOW} onOpen={() => {}} />);
    expect(screen.getByText("Page 2 of 2")).toBeTruthy();
    expect(rows()).toHaveLength(5);
  });
});

describe("opening a session", () => {
  it("opens the inspector on a click on the row", () => {
    // GIVEN the table WHEN a row's title is clicked THEN onOpen gets its session
    const onOpen = vi.fn();
    show(SESSIONS, onOpen);
    fireEvent.click(screen.getByText("Login fails on Safari 4"));
    expect(onOpen).toHaveBeenCalledTimes(1);
    expect(onOpen.mock.calls[0][0].issueId).toBe("github:acme/app#4");
  });

  it("opens the inspector on Enter on a focused row", () => {
    // GIVEN the table WHEN Enter is pressed on a row THEN onOpen gets its session
    const onOpen = vi.fn();
    show(SESSIONS, onOpen);
    const row = screen.getByText("Docs typo 2").closest("tr") as HTMLElement;
    expect(row.tabIndex).toBe(0);
    row.focus();
    fireEvent.keyDown(row, { key: "Enter" });
    expect(onOpen).toHaveBeenCalledTimes(1);
    expect(onOpen.mock.calls[0][0].issueId).toBe("github:acme/app#2");
  });

  it("follows the issue's link rather than opening the inspector", () => {
    // GIVEN the table WHEN the issue chip is clicked THEN the inspector does not open
    const onOpen = vi.fn();
    show(SESSIONS, onOpen);
    const link = screen.getByRole("link", { name: "#3" });
    link.addEventListener("click", (e) => e.preventDefault()); // jsdom cannot navigate
    fireEvent.click(link);
    expect(onOpen).not.toHaveBeenCalled();
  });
});

describe("accessibility", () => {
  it("has nothing axe finds, with sessions and when nothing matches", async () => {
    // GIVEN 1,000 sessions WHEN axe runs THEN no violations; nor on the empty state
    const { container } = show();
    expect((await axe.run(container, AXE_OPTIONS)).violations).toEqual([]);
    fireEvent.change(screen.getByRole("searchbox", { name: "Search sessions" }), { target: { value: "no such thing" } });
    expect((await axe.run(container, AXE_OPTIONS)).violations).toEqual([]);
  });
});
