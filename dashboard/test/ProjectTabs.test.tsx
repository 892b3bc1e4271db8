import axe from "axe-core";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Project, Session } from "../src/api";
import { ProjectView } from "../src/ProjectView";
import { aSession } from "./fixtures";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  window.location.hash = "";
});

const AXE_OPTIONS = { rules: { "color-contrast": { enabled: false } } };

const PROJECT = {
  id: "demo",
  name: null,
  gitOrigin: "git@github.com:acme/app.git",
  trackerIntake: { enabled: true, provider: "github", repo: null, labels: ["agent"], assignee: null, excludeLabels: null, maxSessionsPerPoll: 10, credential: null, authors: ["OWNER", "MEMBER", "COLLABORATOR"], memberWriteCheck: true, backlog: "new", acknowledge: "none" },
  version: 1,
  intake: { state: "ok", repo: "acme/app", consecutiveFailures: 0 },
} as unknown as Project;

/** `count` sessions of acme/app, #1 the newest. */
function sessions(count: number): Session[] {
  return Array.from({ length: count }, (_, i) => aSession({ issueId: `github:acme/app#${i + 1}`, number: i + 1, title: `issue ${i + 1}`, claimedAt: new Date(Date.UTC(2026, 10, 24) - i * 60_000).toISOString() }));
}

/** The API: demo, and its sessions in pages of `limit` (nextToken the next offset). */
function serve(all: Session[]) {
  const fetch = vi.fn(async (path: string) => {
    const url = new URL(path, "http://api/");
    if (url.pathname === "/projects/demo/sessions") {
      const limit = Number(url.searchParams.get("limit"));
      const from = Number(url.searchParams.get("nextToken") ?? 0);
      const next = from + limit < all.length ? String(from + limit) : null;
      return new Response(JSON.stringify({ items: all.slice(from, from + limit), nextToken: next }), { status: 200 });
    }
    if (url.pathname === "/projects/demo/polls") return new Response(JSON.stringify({ items: [], nextToken: null }), { status: 200 });
    return new Response(JSON.stringify(PROJECT), { status: 200 });
  });
  vi.stubGlobal("fetch", fetch);
  return fetch;
}

describe("the project page's tabs", () => {
  it("open on Sessions, and move with the arrow keys, Home and End, as WAI-ARIA's tabs do", async () => {
    serve([]);
    render(<ProjectView id="demo" />);
    const tabs = await screen.findAllByRole("tab");
    // THEN Sessions is selected, alone in the Tab order, its panel shown
    expect(tabs.map((t) => [t.textContent, t.getAttribute("aria-selected"), t.tabIndex])).toEqual([
      ["Sessions", "true", 0],
      ["Activity", "false", -1],
      ["Settings", "false", -1],
    ]);
    expect(screen.getByRole("tablist", { name: "Project views" })).toBeTruthy();
    expect(screen.getByRole("tabpanel").id).toBe(tabs[0].getAttribute("aria-controls"));
    // WHEN the right arrow is pressed THEN Activity is selected and focused
    fireEvent.keyDown(tabs[0], { key: "ArrowRight" });
    expect(screen.getByRole("tab", { name: "Activity" }).getAttribute("aria-selected")).toBe("true");
    expect(document.activeElement?.textContent).toBe("Activity");
    // WHEN End, then the right arrow (wrapping), then the left arrow
    fireEvent.keyDown(document.activeElement as HTMLElement, { key: "End" });
    expect(document.activeElement?.textContent).toBe("Settings");
    fireEvent.keyDown(document.activeElement as HTMLElement, { key: "ArrowRight" });
    expect(document.activeElement?.textContent).toBe("Sessions");
    fireEvent.keyDown(document.activeElement as HTMLElement, { key: "ArrowLeft" });
    expect(document.activeElement?.textContent).toBe("Settings");
    expect(screen.getByRole("button", { name: "Edit settings" })).toBeTruthy();
  });

  it("are remembered in the URL's hash", async () => {
    // GIVEN the page at #/projects/demo
    window.location.hash = "#/projects/demo";
    serve([]);
    render(<ProjectView id="demo" />);
    // WHEN Activity is chosen THEN the hash names it; Sessions has none
    fireEvent.click(await screen.findByRole("tab", { name: "Activity" }));
    expect(window.location.hash).toBe("#/projects/demo/activity");
    fireEvent.click(screen.getByRole("tab", { name: "Sessions" }));
    expect(window.location.hash).toBe("#/projects/demo");
  });

  it("have nothing axe finds on any tab", async () => {
    serve(sessions(3));
    const { container } = render(<ProjectView id="demo" />);
    await screen.findByRole("table", { name: "Sessions" });
    for (const name of ["Sessions", "Activity", "Settings"]) {
      fireEvent.click(screen.getByRole("tab", { name }));
      expect((await axe.run(container, AXE_OPTIONS)).violations).toEqual([]);
    }
  });
});

describe("the Sessions tab", () => {
  it("reads every page of the sessions, 100 at a time: 1,000 sessions load", async () => {
    // GIVEN a project with 1,000 sessions
    const fetch = serve(sessions(1000));
    render(<ProjectView id="demo" />);
    // THEN the table counts all of them, read in 10 pages of the API's largest size
    expect(await screen.findByText("1,000 sessions")).toBeTruthy();
    const reads = fetch.mock.calls.map(([path]) => String(path)).filter((p) => p.startsWith("projects/demo/sessions"));
    expect(reads).toHaveLength(10);
    expect(reads.every((p) => p.includes("limit=100"))).toBe(true);
    expect(screen.queryByText(/Showing the newest/)).toBeNull();
  });

  it("shows the newest page's rows on a first load while the older pages are still read", async () => {
    // GIVEN a project with 1,000 sessions, whose second page is held back
    const all = sessions(1000);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const fetch = vi.fn(async (path: string) => {
      const url = new URL(path, "http://api/");
      if (url.pathname === "/projects/demo/sessions") {
        const from = Number(url.searchParams.get("nextToken") ?? 0);
        if (from > 0) await held;
        const next = from + 100 < all.length ? String(from + 100) : null;
        return new Response(JSON.stringify({ items: all.slice(from, from + 100), nextToken: next }), { status: 200 });
      }
      if (url.pathname === "/projects/demo/polls") return new Response(JSON.stringify({ items: [], nextToken: null }), { status: 200 });
      return new Response(JSON.stringify(PROJECT), { status: 200 });
    });
    vi.stubGlobal("fetch", fetch);
    // WHEN the page opens
    render(<ProjectView id="demo" />);
    // THEN the newest session's row is shown after the first read, the count says what is read so far
    expect(await screen.findByText("issue 1")).toBeTruthy();
    expect(screen.getByText("100 sessions")).toBeTruthy();
    // AND once the other pages answer, all 1,000 are there
    release();
    expect(await screen.findByText("1,000 sessions")).toBeTruthy();
  });

  it("stops at 2,000 sessions, and says so", async () => {
    // GIVEN a project with 2,150 sessions
    const fetch = serve(sessions(2150));
    render(<ProjectView id="demo" />);
    // THEN the table holds the newest 2,000, and the page says there are more
    expect(await screen.findByText("2,000 sessions")).toBeTruthy();
    expect(screen.getByText(/Showing the newest 2,000 sessions: the project has more/)).toBeTruthy();
    await waitFor(() => expect(fetch.mock.calls.filter(([path]) => String(path).startsWith("projects/demo/sessions"))).toHaveLength(20));
  });

  it("opens the inspector from a row, and the charts are under the table", async () => {
    serve(sessions(2));
    render(<ProjectView id="demo" />);
    const row = (await screen.findByText("issue 1")).closest("tr") as HTMLElement;
    expect(screen.getByText(/Sessions started per day/, { selector: "figcaption" }).closest("figure")?.compareDocumentPosition(row) ).toBe(Node.DOCUMENT_POSITION_PRECEDING);
    fireEvent.click(row);
    expect(screen.getByRole("dialog", { name: "github:acme/app#1" })).toBeTruthy();
    expect(screen.getByRole("button", { name: "release github:acme/app#1" })).toBeTruthy();
    // AND the focus is on Close, not on Release
    expect(document.activeElement?.textContent).toBe("Close");
  });
});
