import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Project } from "../src/api";
import { ProjectView } from "../src/ProjectView";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const HEALTHY: Project = {
  id: "demo",
  name: null,
  gitOrigin: "git@github.com:acme/app.git",
  trackerIntake: { enabled: true, provider: "github", repo: null, labels: ["agent"], assignee: null, excludeLabels: null, maxSessionsPerPoll: 10, credential: null, authors: ["OWNER", "MEMBER", "COLLABORATOR"], memberWriteCheck: true, backlog: "new", acknowledge: "none" },
  version: 4,
  intake: { state: "ok", repo: "acme/app", consecutiveFailures: 0 },
};

/** Demo in backoff for ten more minutes after failures of `kind`. */
function inBackoff(kind: "transient" | "persistent"): Project {
  return {
    ...HEALTHY,
    intake: {
      state: "backoff",
      repo: "acme/app",
      backoffUntil: new Date(Date.now() + 10 * 60_000).toISOString(),
      consecutiveFailures: 2,
      lastError: kind === "transient" ? "tracker_unavailable: GitHub answered 502" : "auth_failed: bad credentials",
      failureKind: kind,
    },
  };
}

/** The API: the project as given, its sessions (none), and the poll route, which answers `polled`. */
function serve(project: Project, polled: Project = HEALTHY) {
  const fetch = vi.fn(async (path: string, init?: RequestInit) => {
    if (path === "projects/demo/poll" && init?.method === "POST") return new Response(JSON.stringify(polled), { status: 202 });
    if (path.startsWith("projects/demo/sessions")) return new Response(JSON.stringify({ items: [] }), { status: 200 });
    return new Response(JSON.stringify(project), { status: 200 });
  });
  vi.stubGlobal("fetch", fetch);
  return fetch;
}

describe("polling on the project page", () => {
  it("shows the backoff with its failure's kind, and Retry now clears it", async () => {
    // GIVEN demo in backoff after transient failures
    const fetch = serve(inBackoff("transient"));
    render(<ProjectView id="demo" />);
    // THEN the backoff reads beside its kind, and the button says Retry now
    expect(await screen.findByText(/transient failure/)).toBeTruthy();
    expect(screen.getByText(/polls again in/)).toBeTruthy();
    // WHEN Retry now is pressed
    fireEvent.click(screen.getByRole("button", { name: "Retry now" }));
    // THEN the poll route is asked, the page says when it is polled, and the button is Poll now
    expect(await screen.findByText("Backoff cleared: polled on the next tick (within a minute).")).toBeTruthy();
    expect(fetch.mock.calls.some(([path, init]) => path === "projects/demo/poll" && init?.method === "POST")).toBe(true);
    expect(screen.getByRole("button", { name: "Poll now" })).toBeTruthy();
    expect(screen.queryByText(/polls again in/)).toBeNull();
  });

  it("names a persistent failure as one that needs a fix", async () => {
    // GIVEN demo in backoff after bad credentials  THEN the page says the failure needs a fix
    serve(inBackoff("persistent"));
    render(<ProjectView id="demo" />);
    expect(await screen.findByText(/persistent failure \(needs a fix\)/)).toBeTruthy();
    expect(screen.getByText("Bad credentials.")).toBeTruthy();
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
        return new Response(JSON.stringify(path.startsWith("projects/demo/sessions") ? { items: [] } : HEALTHY), { status: 200 });
      }),
    );
    render(<ProjectView id="demo" />);
    // WHEN Poll now is pressed
    fireEvent.click(await screen.findByRole("button", { name: "Poll now" }));
    // THEN the refusal's sentence is shown as an alert
    expect((await screen.findByRole("alert")).textContent).toContain("intake is off; switch it on first");
  });

  it("shows the pickup of the recent launches, or that there was none yet", async () => {
    // GIVEN demo whose last launch came 75 s after its issue's update, p95 5 min 3 s over 12
    serve({ ...HEALTHY, pickup: { launches: 12, lastSeconds: 75, lastLaunchedAt: "2026-11-24T12:42:00Z", p50Seconds: 40, p95Seconds: 303 } });
    render(<ProjectView id="demo" />);
    // THEN the card reads the last, then the percentiles over the launches
    const pickup = await screen.findByText(/^last 1 min 15 s/);
    expect(pickup.textContent).toBe("last 1 min 15 s · p50 40 s · p95 5 min 3 s over 12 recent launches");
    cleanup();
    // AND a project that launched nothing yet says so
    serve(HEALTHY);
    render(<ProjectView id="demo" />);
    expect(await screen.findByText("no launch yet")).toBeTruthy();
  });

  it("offers no poll while intake is off", async () => {
    // GIVEN demo with intake off  THEN there is nothing to press, and the page says why
    serve({ ...HEALTHY, trackerIntake: { ...HEALTHY.trackerIntake!, enabled: false }, intake: { state: "disabled", consecutiveFailures: 0 } });
    render(<ProjectView id="demo" />);
    expect(await screen.findByText(/Intake is off: nothing is polled./)).toBeTruthy();
    expect(screen.queryByRole("button", { name: /Poll now|Retry now/ })).toBeNull();
  });
});
