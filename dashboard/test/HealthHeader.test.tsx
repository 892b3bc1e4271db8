import axe from "axe-core";
import { act, cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { PollView, Project } from "../src/api";
import { ProjectView } from "../src/ProjectView";
import { aPoll } from "./fixtures";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

/** axe in jsdom: no layout, so no colour contrast (the browser journeys check it). */
const AXE_OPTIONS = { rules: { "color-contrast": { enabled: false } } };

const HEALTHY: Project = {
  id: "demo",
  name: null,
  gitOrigin: "git@github.com:acme/app.git",
  trackerIntake: { enabled: true, provider: "github", repo: null, labels: ["agent"], assignee: null, excludeLabels: null, maxSessionsPerPoll: 10, credential: null, authors: ["OWNER", "MEMBER", "COLLABORATOR"], memberWriteCheck: true, backlog: "new", acknowledge: "none" },
  version: 4,
  intake: { state: "ok", repo: "acme/app", consecutiveFailures: 0 },
};

/** Demo in backoff until `until` after failures of `kind`. */
function inBackoff(kind: "transient" | "persistent", until = new Date(Date.now() + 10 * 60_000)): Project {
  return {
    ...HEALTHY,
    intake: {
      state: "backoff",
      repo: "acme/app",
      backoffUntil: until.toISOString(),
      consecutiveFailures: 2,
      lastError: kind === "transient" ? "tracker_unavailable: GitHub answered 502" : "auth_failed: bad credentials",
      failureKind: kind,
    },
  };
}

/** The API: the project as given, its sessions (none), its polls, and the poll route, which answers `polled`. */
function serve(project: Project, { polled = HEALTHY, polls = [] as PollView[] } = {}) {
  const fetch = vi.fn(async (path: string, init?: RequestInit) => {
    if (path === "projects/demo/poll" && init?.method === "POST") return new Response(JSON.stringify(polled), { status: 202 });
    if (path.startsWith("projects/demo/sessions")) return new Response(JSON.stringify({ items: [], nextToken: null }), { status: 200 });
    if (path.startsWith("projects/demo/polls")) return new Response(JSON.stringify({ items: polls, nextToken: null }), { status: 200 });
    return new Response(JSON.stringify(project), { status: 200 });
  });
  vi.stubGlobal("fetch", fetch);
  return fetch;
}

async function header(): Promise<HTMLElement> {
  return screen.findByRole("region", { name: "Project health" });
}

describe("the project's health header in backoff", () => {
  it("says why in a sentence, counts down to the next poll with its UTC time on hover, and offers Retry now", async () => {
    // GIVEN demo in backoff for 10 more minutes after GitHub answered 502
    const until = new Date(Date.now() + 10 * 60_000);
    serve(inBackoff("transient", until));
    render(<ProjectView id="demo" />);
    const h = await header();
    // THEN the state reads "in backoff", the reason is one sentence, with the failure's kind
    expect(within(h).getByText("in backoff")).toBeTruthy();
    expect(within(h).getByText("The tracker did not answer: GitHub answered 502.")).toBeTruthy();
    expect(h.textContent).toContain("transient failure");
    // AND the countdown says when the next poll is, the exact time on hover
    const countdown = h.querySelector(".countdown") as HTMLElement;
    expect(countdown.closest("strong")?.textContent).toMatch(/^Next poll in (9 min \d+ s|10 min 0 s)$/);
    expect(countdown.getAttribute("title")).toBe(`${until.toISOString().slice(0, 19).replace("T", " ")} UTC`);
    expect(within(h).getByRole("button", { name: "Retry now" })).toBeTruthy();
  });

  it("counts down live, second by second", async () => {
    // GIVEN demo in backoff until 4 min 12 s from now
    vi.useFakeTimers({ toFake: ["Date", "setInterval"] });
    serve(inBackoff("transient", new Date(Date.now() + 252_000)));
    render(<ProjectView id="demo" />);
    const countdown = (await header()).querySelector(".countdown") as HTMLElement;
    expect(countdown.textContent).toBe("4 min 12 s");
    // WHEN 5 seconds pass THEN it reads 4 min 7 s
    act(() => vi.advanceTimersByTime(5_000));
    expect(countdown.textContent).toBe("4 min 7 s");
  });

  it("Retry now asks the API, then shows the refreshed state: ok, no countdown, Poll now", async () => {
    // GIVEN demo in backoff, and an API whose poll route clears it
    const fetch = serve(inBackoff("transient"));
    render(<ProjectView id="demo" />);
    const h = await header();
    // WHEN Retry now is pressed
    fireEvent.click(within(h).getByRole("button", { name: "Retry now" }));
    // THEN the poll route was asked, the page says when it is polled, and the state is back to ok
    expect(await within(h).findByText("Backoff cleared: polled on the next tick (within a minute).")).toBeTruthy();
    expect(fetch.mock.calls.some(([path, init]) => path === "projects/demo/poll" && init?.method === "POST")).toBe(true);
    expect(within(h).getByText("ok", { selector: ".state" })).toBeTruthy();
    expect(h.querySelector(".countdown")).toBeNull();
    expect(within(h).getByRole("button", { name: "Poll now" })).toBeTruthy();
  });

  it("names a persistent failure as one that needs a fix, its kind in words", async () => {
    // GIVEN demo in backoff after bad credentials  THEN the header says the credential was refused, and that it needs a fix
    serve(inBackoff("persistent"));
    render(<ProjectView id="demo" />);
    const h = await header();
    expect(within(h).getByText("The tracker refused the credential: Bad credentials.")).toBeTruthy();
    expect(h.textContent).toContain("persistent failure (needs a fix)");
  });

  it("has nothing axe finds", async () => {
    serve(inBackoff("transient"));
    const { container } = render(<ProjectView id="demo" />);
    await header();
    expect((await axe.run(container, AXE_OPTIONS)).violations).toEqual([]);
  });
});

describe("the project's health header", () => {
  it("shows the last poll: when, its result in words, its requests, pages and 304s", async () => {
    // GIVEN demo whose last recorded poll, 3 minutes ago, was all 304s
    const at = new Date(Date.now() - 3 * 60_000).toISOString();
    serve(HEALTHY, { polls: [aPoll({ at, result: "not_modified", requests: 2, pages: 2, notModified: 2 })] });
    render(<ProjectView id="demo" />);
    const h = await header();
    // THEN the header reads it
    const fact = (await within(h).findByText("Last poll")).nextElementSibling as HTMLElement;
    await within(fact).findByText("nothing changed");
    expect(fact.textContent).toBe("3 min ago · nothing changed · 2 requests, 2 pages, 2 × 304");
    expect(fact.querySelector("time")?.getAttribute("title")).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
  });

  it("takes the last poll's time from checkedAt when no poll is listed", async () => {
    // GIVEN demo checked 2 hours ago, with no polls listed
    serve({ ...HEALTHY, intake: { ...HEALTHY.intake, checkedAt: new Date(Date.now() - 2 * 3_600_000).toISOString() } });
    render(<ProjectView id="demo" />);
    // THEN the last poll reads 2 h ago
    const fact = within(await header()).getByText("Last poll").nextElementSibling as HTMLElement;
    expect(fact.textContent).toBe("2 h ago");
  });

  it("shows the pickup latency, last and p95, or — without a launch", async () => {
    // GIVEN demo whose last launch came 75 s after its issue's update, p95 5 min 3 s over 12
    serve({ ...HEALTHY, pickup: { launches: 12, lastSeconds: 75, lastLaunchedAt: "2026-11-24T12:42:00Z", p50Seconds: 40, p95Seconds: 303 } });
    render(<ProjectView id="demo" />);
    // THEN the header reads the last and the p95
    const fact = within(await header()).getByText("Pickup").nextElementSibling as HTMLElement;
    expect(fact.textContent).toBe("last 1 min 15 s · p95 5 min 3 s");
    cleanup();
    // AND a project that launched nothing yet reads —
    serve(HEALTHY);
    render(<ProjectView id="demo" />);
    expect((within(await header()).getByText("Pickup").nextElementSibling as HTMLElement).textContent).toBe("—");
  });

  it("shows the last change on the tracker as a relative time, the UTC time on hover", async () => {
    // GIVEN demo whose tracker last changed at 12:00 UTC yesterday
    const at = new Date(Date.now() - 26 * 3_600_000);
    serve({ ...HEALTHY, intake: { ...HEALTHY.intake, lastChangeAt: at.toISOString() } });
    render(<ProjectView id="demo" />);
    // THEN it reads 1 day ago, the exact time on hover
    const time = (within(await header()).getByText("Last change").nextElementSibling as HTMLElement).querySelector("time") as HTMLElement;
    expect(time.textContent).toBe("1 day ago");
    expect(time.getAttribute("title")).toBe(`${at.toISOString().slice(0, 19).replace("T", " ")} UTC`);
  });

  it("offers Poll now on a healthy project, and says why when the API refuses", async () => {
    // GIVEN a healthy demo whose poll the API refuses (intake switched off meanwhile)
    vi.stubGlobal(
      "fetch",
      vi.fn(async (path: string) => {
        if (path === "projects/demo/poll") {
          const refusal = { message: "project 'demo' cannot be polled: intake is off; switch it on first", errors: [{ field: "id", reason: "intake is off; switch it on first" }] };
          return new Response(JSON.stringify(refusal), { status: 409 });
        }
        return new Response(JSON.stringify(path.startsWith("projects/demo/sessions") || path.startsWith("projects/demo/polls") ? { items: [] } : HEALTHY), { status: 200 });
      }),
    );
    render(<ProjectView id="demo" />);
    // WHEN Poll now is pressed
    fireEvent.click(await screen.findByRole("button", { name: "Poll now" }));
    // THEN the refusal's sentence is shown as an alert
    expect((await screen.findByRole("alert")).textContent).toContain("intake is off; switch it on first");
  });

  it("says intake off for a disabled project, never its rule's gaps, and offers no poll", async () => {
    // GIVEN demo with intake off and no rule yet
    serve({ ...HEALTHY, trackerIntake: { ...HEALTHY.trackerIntake!, enabled: false, labels: [] }, intake: { state: "disabled", consecutiveFailures: 0 } });
    render(<ProjectView id="demo" />);
    const h = await header();
    // THEN the state reads intake off, and nothing can be polled
    expect(within(h).getByText("intake off", { selector: ".state" })).toBeTruthy();
    expect(within(h).getByText("Intake is off: nothing is polled.")).toBeTruthy();
    expect(document.body.textContent).not.toContain("no label or assignee yet");
    expect(await screen.findByText(/^No sessions. Intake is off: switch it on in Settings/)).toBeTruthy();
    expect(screen.queryByRole("button", { name: /Poll now|Retry now/ })).toBeNull();
    expect((await axe.run(h, AXE_OPTIONS)).violations).toEqual([]);
  });
});
