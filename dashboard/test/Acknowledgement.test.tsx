import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Acknowledgement, Project, Session } from "../src/api";
import { relative, shortened } from "../src/format";
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

async function card(): Promise<HTMLElement> {
  return (await screen.findByText("Crash on empty config")).closest("li") as HTMLElement;
}

async function inspector(): Promise<HTMLElement> {
  fireEvent.click(await screen.findByRole("button", { name: "inspect github:acme/app#42" }));
  return screen.getByRole("dialog");
}

describe("the acknowledgement on the issue", () => {
  it("is a link to the comment on the card and in the inspector once done", async () => {
    // GIVEN a session whose launch was acknowledged with a comment
    serve([session({ kind: "comment", state: "done", attempts: 1, updatedAt: "2026-11-24T12:02:00.000000Z", url: COMMENT, detail: null })]);
    render(<ProjectView id="demo" />);
    // THEN the card links "comment done" to the comment, as no warning
    const link = within(await card()).getByRole("link", { name: "comment done" });
    expect(link.getAttribute("href")).toBe(COMMENT);
    expect(link.className).toContain("ack-done");
    // AND the inspector says the same, with its attempts
    const dialog = await inspector();
    const fact = within(dialog).getByText("Acknowledgement").nextElementSibling as HTMLElement;
    expect(within(fact).getByRole("link", { name: "comment done" }).getAttribute("href")).toBe(COMMENT);
    expect(fact.textContent).toContain("1 attempt ·");
  });

  it("is a warning with GitHub's words when refused: on the card as a tooltip, in full in the inspector", async () => {
    // GIVEN a session whose reaction GitHub refused, with a long answer
    const detail = `${REFUSAL} (403): ${"the app needs Issues: Read and write. ".repeat(4)}`.trim();
    serve([session({ kind: "reaction", state: "refused", attempts: 1, updatedAt: "2026-11-24T12:02:00.000000Z", url: null, detail })]);
    render(<ProjectView id="demo" />);
    // THEN the card shows "reaction refused" as a warning, not a link, with the words as its title and cut short beside it
    const c = await card();
    const badge = within(c).getByText("reaction refused");
    expect(badge.className).toContain("ack-refused");
    expect(badge.getAttribute("title")).toBe(detail);
    expect(within(c).queryByRole("link", { name: "reaction refused" })).toBeNull();
    expect(within(c).getByText(shortened(detail)).getAttribute("title")).toBe(detail);
    expect(shortened(detail)).not.toBe(detail);
    // AND the inspector shows the words in full
    const dialog = await inspector();
    expect(within(dialog).getByText(detail).className).toContain("warning");
  });

  it("is a warning when intake gave up", async () => {
    serve([session({ kind: "label", state: "failed", attempts: 5, updatedAt: "2026-11-24T12:30:00.000000Z", url: null, detail: "GitHub answered 502" })]);
    render(<ProjectView id="demo" />);
    const c = await card();
    expect(within(c).getByText("label failed").className).toContain("ack-failed");
    expect(within(c).getByText("GitHub answered 502")).toBeTruthy();
    expect((await inspector()).textContent).toContain("5 attempts");
  });

  it("links only an https comment URL", async () => {
    serve([session({ kind: "comment", state: "done", attempts: 1, updatedAt: "2026-11-24T12:02:00.000000Z", url: "javascript:alert(1)", detail: null })]);
    render(<ProjectView id="demo" />);
    const c = await card();
    expect(within(c).getByText("comment done").tagName).toBe("SPAN");
    expect(within(c).queryByRole("link", { name: "comment done" })).toBeNull();
  });

  it("adds nothing when the session has none", async () => {
    // GIVEN a session of a project that acknowledges nothing
    serve([session(undefined)]);
    render(<ProjectView id="demo" />);
    // THEN neither the card nor the inspector mentions an acknowledgement
    const c = await card();
    expect(within(c).queryByText(/on the issue/)).toBeNull();
    expect(c.querySelector("[class*='ack-']")).toBeNull();
    const dialog = await inspector();
    expect(within(dialog).queryByText("Acknowledgement")).toBeNull();
  });
});

describe("a waiting acknowledgement", () => {
  it("says when it will be tried next, on the card and in the inspector", async () => {
    // GIVEN a comment waiting for its write slot
    const next = "2026-11-24T12:03:05.000000Z";
    serve([session({ kind: "comment", state: "waiting", attempts: 0, updatedAt: "2026-11-24T12:02:00.000000Z", nextAttemptAt: next, url: null, detail: null })]);
    render(<ProjectView id="demo" />);
    // THEN the card says "comment waiting" and when it is tried next, as no warning
    const c = await card();
    expect(within(c).getByText("comment waiting").className).not.toContain("warning");
    expect(c.textContent).toContain(`next try ${relative(next)}`);
    expect(c.querySelector(`time[title="2026-11-24T12:03:05Z"]`)).toBeTruthy();
    // AND the inspector says the same
    const fact = within(await inspector()).getByText("Acknowledgement").nextElementSibling as HTMLElement;
    expect(fact.textContent).toContain(`next try ${relative(next)}`);
  });
});

describe("the session's reference", () => {
  it("links the session's page when the backend gave one, on the card and in the inspector", async () => {
    // GIVEN a session whose backend answered with a sessionUrl
    serve([{ ...session(), sessionUrl: "https://agents.example.com/s/sess-1" }]);
    render(<ProjectView id="demo" />);
    // THEN its reference links that page
    expect(within(await card()).getByRole("link", { name: "sess-1" }).getAttribute("href")).toBe("https://agents.example.com/s/sess-1");
    const fact = within(await inspector()).getByText("Session").nextElementSibling as HTMLElement;
    expect(within(fact).getByRole("link", { name: "sess-1" }).getAttribute("href")).toBe("https://agents.example.com/s/sess-1");
  });

  it("is plain text without a page", async () => {
    // GIVEN a session with a reference only
    serve([session()]);
    render(<ProjectView id="demo" />);
    // THEN the reference is shown, not linked
    const c = await card();
    expect(within(c).getByText("sess-1").closest("a")).toBeNull();
  });
});
