import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ProjectView } from "../src/ProjectView";
import { editSettings } from "./fixtures";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const PROJECT = {
  id: "web",
  name: null,
  gitOrigin: "git@github.com:acme/app.git",
  trackerIntake: { enabled: true, provider: "github", repo: null, labels: ["agent"], assignee: null, excludeLabels: null, maxSessionsPerPoll: 10, credential: null, authors: ["OWNER", "MEMBER", "COLLABORATOR"], memberWriteCheck: true, backlog: "new", acknowledge: "none" },
  version: 3,
  intake: { state: "ok", repo: "acme/app", consecutiveFailures: 0 },
};

const issue = (number: number, extra: object) => ({ canonicalId: `github:acme/app#${number}`, number, title: `issue ${number}`, url: `https://github.com/acme/app/issues/${number}`, labels: ["agent"], assignees: [], ...extra });

const PREVIEW = {
  repo: "acme/app",
  eligible: [issue(1, { claim: "backlog", author: "ana", authorAssociation: "MEMBER" })],
  skipped: [
    issue(2, { reason: "untrusted author", author: "drive-by", authorAssociation: "NONE" }),
    issue(3, { reason: "member without write access", author: "reader", authorAssociation: "MEMBER" }),
  ],
  truncated: false,
  requests: 1,
  wouldStart: 0,
  wouldStartWithAll: 1,
  heldElsewhere: 0,
};

function api(path: string): Response {
  if (path === "projects/web") return new Response(JSON.stringify(PROJECT), { status: 200 });
  if (path.startsWith("projects/web/sessions")) return new Response(JSON.stringify({ items: [] }), { status: 200 });
  if (path === "projects/web/preview") return new Response(JSON.stringify(PREVIEW), { status: 200 });
  return new Response("{}", { status: 404 });
}

describe("the preview of an issue another project holds", () => {
  it("says which project holds it, and how many are held elsewhere", async () => {
    // GIVEN a preview where project widgets launched issue 4 and this project launched issue 5
    const held = {
      ...PREVIEW,
      eligible: [issue(4, { claim: "launched", claimProject: "widgets" }), issue(5, { claim: "launched", claimProject: null })],
      heldElsewhere: 1,
    };
    vi.stubGlobal(
      "fetch",
      vi.fn(async (path: string) => (path === "projects/web/preview" ? new Response(JSON.stringify(held), { status: 200 }) : api(path))),
    );
    render(<ProjectView id="web" tab="settings" />);
    await editSettings();
    // WHEN the rule is previewed
    fireEvent.click(await screen.findByRole("button", { name: "Preview" }));
    // THEN issue 4 reads "launched · held by widgets", issue 5 plainly "launched"
    expect(await screen.findByText("launched · held by widgets", { selector: ".badge" })).toBeTruthy();
    expect(screen.getByText("launched", { selector: ".badge" })).toBeTruthy();
    // AND the list says one is held by another project, and the rule
    expect(screen.getByText(/^1 held by another project on this repository: one session per issue across every project/)).toBeTruthy();
  });
});

describe("the settings form", () => {
  it("shows the authors allowed, the backlog choice, and the preview's author skips and counts", async () => {
    // GIVEN a project on label agent with the default authors and `new`
    vi.stubGlobal("fetch", vi.fn(async (path: string) => api(path)));
    render(<ProjectView id="web" tab="settings" />);
    await editSettings();
    // THEN the trusted associations are ticked and the others not, and `new` is chosen
    const member = (await screen.findByRole("checkbox", { name: "MEMBER" })) as HTMLInputElement;
    expect(member.checked).toBe(true);
    expect((screen.getByRole("checkbox", { name: "NONE" }) as HTMLInputElement).checked).toBe(false);
    expect((screen.getByRole("radio", { name: /Only issues that match from now on/ }) as HTMLInputElement).checked).toBe(true);
    // WHEN the rule is previewed
    fireEvent.click(screen.getByRole("button", { name: "Preview" }));
    // THEN the stranger's issue is skipped as an untrusted author, named; the taken one shows its backlog claim
    expect(await screen.findByText(/untrusted author: @drive-by, NONE/)).toBeTruthy();
    // AND the read-only member's issue is skipped as a member without write access, named
    expect(screen.getByText(/member without write access: @reader/)).toBeTruthy();
    expect(screen.getAllByText("Saved with new, this starts 0 sessions now; all would start 1 session.").length).toBeGreaterThan(0);
    expect(screen.getByText("backlog", { selector: ".badge" })).toBeTruthy();
  });

  it("shows the members' write-access check on, warns when it is switched off, and saves the choice", async () => {
    // GIVEN a project with the default authors (MEMBER among them), and an API that takes the save
    const fetch = vi.fn(async (path: string, init?: RequestInit) =>
      path === "projects/web/config" ? new Response(JSON.stringify({ ...PROJECT, ...JSON.parse(String(init?.body)), version: 4 }), { status: 200 }) : api(path),
    );
    vi.stubGlobal("fetch", fetch);
    render(<ProjectView id="web" tab="settings" />);
    await editSettings();
    // THEN the check reads on, and no warning shows
    const check = (await screen.findByRole("checkbox", { name: /Members must have write access/ })) as HTMLInputElement;
    expect(check.checked).toBe(true);
    expect(screen.queryByText(/read-only ones included/)).toBeNull();
    // WHEN it is switched off and the card saved
    fireEvent.click(check);
    expect(screen.getByText(/read-only ones included, can instruct the agent/)).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    // THEN the config sent switches it off, the rest of the rule as it was
    expect(await screen.findByText("Saved.")).toBeTruthy();
    const [, init] = fetch.mock.calls.find(([path]) => path === "projects/web/config") ?? [];
    expect(JSON.parse(String(init?.body)).trackerIntake).toMatchObject({ memberWriteCheck: false, labels: ["agent"] });
  });

  it("shows the acknowledge choice, none by default, and saves the one chosen", async () => {
    // GIVEN a project that writes nothing on its issues, and an API that takes the save
    const fetch = vi.fn(async (path: string, init?: RequestInit) =>
      path === "projects/web/config" ? new Response(JSON.stringify({ ...PROJECT, ...JSON.parse(String(init?.body)), version: 4 }), { status: 200 }) : api(path),
    );
    vi.stubGlobal("fetch", fetch);
    render(<ProjectView id="web" tab="settings" />);
    await editSettings();
    // THEN the choice reads none, offers the four values, and says the others need write access
    const select = (await screen.findByLabelText("Once a session is launched, write on the issue")) as HTMLSelectElement;
    expect(select.value).toBe("none");
    expect([...select.options].map((o) => o.value)).toEqual(["none", "reaction", "comment", "label"]);
    expect(screen.getByText(/Anything but none needs write access to issues/).id).toBe(select.getAttribute("aria-describedby"));
    // WHEN comment is chosen and the card saved
    fireEvent.change(select, { target: { value: "comment" } });
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    // THEN the config sent asks for a comment, the rest of the rule as it was
    expect(await screen.findByText("Saved.")).toBeTruthy();
    const [, init] = fetch.mock.calls.find(([path]) => path === "projects/web/config") ?? [];
    expect(init?.method).toBe("PUT");
    expect(JSON.parse(String(init?.body)).trackerIntake).toMatchObject({ acknowledge: "comment", labels: ["agent"], backlog: "new" });
  });

  it("warns when the authors are widened beyond the default", async () => {
    // GIVEN the card
    vi.stubGlobal("fetch", vi.fn(async (path: string) => api(path)));
    render(<ProjectView id="web" tab="settings" />);
    await editSettings();
    // WHEN NONE is ticked
    fireEvent.click(await screen.findByRole("checkbox", { name: "NONE" }));
    // THEN the card says their issues will instruct the agent
    expect(screen.getByText(/Widened to NONE: their issues will instruct the agent./)).toBeTruthy();
  });
});
