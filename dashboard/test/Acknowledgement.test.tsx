import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Acknowledgement, Project, Session } from "../src/api";
import { relative } from "../src/time";
import { ProjectView } from "../src/ProjectView";
import { aSession } from "./fixtures";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const COMMENT = "https://github.com/acme/app/issues/42#issuecomment-1001";
const REFUSAL = "Resource not accessible by integration";

const project: Project = {
  id: "demo",
  name: null,
  gitOrigin: "git@github.com:acme/app.git",
  trackerIntake: { enabled: true, provider: "github", repo: null, labels: ["agent"], assignee: null, excludeLabels: null, maxSessionsPerPoll: 10, credential: null, authors: ["OWNER", "MEMBER", "COLLABORATOR"], memberWriteCheck: true, backlog: "new", acknowledge: "comment" },
  version: 1,
  intake: { state: "ok", repo: "acme/app", consecutiveFailures: 0 },
};

function session(acknowledgement?: Acknowledgement): Session {
  return aSession({ acknowledgement });
}

function serve(sessions: Session[]) {
  vi.stubGlobal(
    "fetch",
    vi.fn(async (path: string) => new Response(JSON.stringify(path.startsWith("projects/demo/sessions") ? { items: sessions, nextToken: null } : project), { status: 200 })),
  );
}

/** The session's row in the sessions table. */
async function row(): Promise<HTMLElement> {
  return (await screen.findByText("Crash on empty config")).closest("tr") as HTMLElement;
}

/** The inspector, opened from the row. */
async function inspector(): Promise<HTMLElement> {
  fireEvent.click(await row());
  return screen.getByRole("dialog");
}

function acknowledgementFact(dialog: HTMLElement): HTMLElement {
  return within(dialog).getByText("Acknowledgement").nextElementSibling as HTMLElement;
}

describe("the acknowledgement on the issue", () => {
  it("reads done in the session's row, and links the comment in the inspector", async () => {
    // GIVEN a session whose launch was acknowledged with a comment
    serve([session({ kind: "comment", state: "done", attempts: 1, updatedAt: "2026-11-24T12:02:00.000000Z", url: COMMENT, detail: null })]);
    render(<ProjectView id="demo" />);
    // THEN the row reads "comment done", as no warning
    expect(within(await row()).getByText("comment done").className).toContain("ack-done");
    // AND the inspector links it to the comment, with its attempts
    const fact = acknowledgementFact(await inspector());
    const link = within(fact).getByRole("link", { name: "comment done" });
    expect(link.getAttribute("href")).toBe(COMMENT);
    expect(fact.textContent).toContain("1 attempt ·");
  });

  it("is a warning with GitHub's words when refused: in the row as a tooltip, in full in the inspector", async () => {
    // GIVEN a session whose reaction GitHub refused, with a long answer
    const detail = `${REFUSAL} (403): ${"the app needs Issues: Read and write. ".repeat(4)}`.trim();
    serve([session({ kind: "reaction", state: "refused", attempts: 1, updatedAt: "2026-11-24T12:02:00.000000Z", url: null, detail })]);
    render(<ProjectView id="demo" />);
    // THEN the row shows "reaction refused" as a warning, not a link, with the words as its title
    const r = await row();
    const badge = within(r).getByText("reaction refused");
    expect(badge.className).toContain("ack-refused");
    expect(badge.getAttribute("title")).toBe(detail);
    expect(within(r).queryByRole("link", { name: "reaction refused" })).toBeNull();
    // AND the inspector shows the words in full, as a warning
    const dialog = await inspector();
    expect(within(dialog).getByText(detail).className).toContain("warning");
  });

  it("is a warning when intake gave up", async () => {
    serve([session({ kind: "label", state: "failed", attempts: 5, updatedAt: "2026-11-24T12:30:00.000000Z", url: null, detail: "GitHub answered 502" })]);
    render(<ProjectView id="demo" />);
    const badge = within(await row()).getByText("label failed");
    expect(badge.className).toContain("ack-failed");
    expect(badge.getAttribute("title")).toBe("GitHub answered 502");
    const dialog = await inspector();
    expect(dialog.textContent).toContain("5 attempts");
    expect(within(dialog).getByText("GitHub answered 502")).toBeTruthy();
  });

  it("links only an https comment URL", async () => {
    serve([session({ kind: "comment", state: "done", attempts: 1, updatedAt: "2026-11-24T12:02:00.000000Z", url: "javascript:alert(1)", detail: null })]);
    render(<ProjectView id="demo" />);
    const fact = acknowledgementFact(await inspector());
    expect(within(fact).getByText("comment done").tagName).toBe("SPAN");
    expect(within(fact).queryByRole("link", { name: "comment done" })).toBeNull();
  });

  it("adds nothing when the session has none", async () => {
    // GIVEN a session of a project that acknowledges nothing
    serve([session(undefined)]);
    render(<ProjectView id="demo" />);
    // THEN neither the row nor the inspector mentions an acknowledgement
    expect((await row()).querySelector("[class*='ack-']")).toBeNull();
    const dialog = await inspector();
    expect(within(dialog).queryByText("Acknowledgement")).toBeNull();
  });
});

describe("a waiting acknowledgement", () => {
  it("reads waiting in the row, and the inspector says when it will be tried next", async () => {
    // GIVEN a comment waiting for its write slot
    const next = "2026-11-24T12:03:05.000000Z";
    serve([session({ kind: "comment", state: "waiting", attempts: 0, updatedAt: "2026-11-24T12:02:00.000000Z", nextAttemptAt: next, url: null, detail: null })]);
    render(<ProjectView id="demo" />);
    // THEN the row says "comment waiting", as no warning
    expect(within(await row()).getByText("comment waiting").className).not.toContain("warning");
    // AND the inspector says when it is tried next, the exact time on hover
    const fact = acknowledgementFact(await inspector());
    expect(fact.textContent).toContain(`next try ${relative(next)}`);
    expect(fact.querySelector(`time[title="2026-11-24 12:03:05 UTC"]`)).toBeTruthy();
  });
});

describe("the session's reference", () => {
  it("links the session's page in the inspector when the backend gave one", async () => {
    // GIVEN a session whose backend answered with a sessionUrl
    serve([{ ...session(), sessionUrl: "https://agents.example.com/s/sess-1" }]);
    render(<ProjectView id="demo" />);
    // THEN its reference links that page
    const fact = within(await inspector()).getByText("Session").nextElementSibling as HTMLElement;
    expect(within(fact).getByRole("link", { name: "sess-1" }).getAttribute("href")).toBe("https://agents.example.com/s/sess-1");
  });

  it("is plain text without a page", async () => {
    // GIVEN a session with a reference only
    serve([session()]);
    render(<ProjectView id="demo" />);
    // THEN the reference is shown, not linked
    const fact = within(await inspector()).getByText("Session").nextElementSibling as HTMLElement;
    expect(within(fact).getByText("sess-1").closest("a")).toBeNull();
  });
});
