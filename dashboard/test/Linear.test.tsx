import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Project, Session } from "../src/api";
import { CreateSheet } from "../src/CreateSheet";
import { ProjectView } from "../src/ProjectView";
import { aSession, editSettings, switchIntakeOn } from "./fixtures";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const LINEAR_ISSUE = "https://linear.app/acme/issue/ENG-123/fix-the-login-page";

const linearProject = {
  id: "eng",
  name: null,
  gitOrigin: "git@github.com:acme/app.git",
  trackerIntake: { enabled: true, provider: "linear", team: "ENG", repo: null, labels: ["agent"], assignee: "ada@acme.test", excludeLabels: null, maxSessionsPerPoll: 10, credential: null, authors: ["MEMBER"], backlog: "new", acknowledge: "none" },
  version: 2,
  intake: { state: "ok", repo: null, consecutiveFailures: 0 },
} as unknown as Project;

const linearSession = aSession({
  issueId: "linear:acme/3f2b5c1e-8d4a-4b6f-9c2e-1a7d0e5b9f34",
  projectId: "eng",
  provider: "linear",
  identifier: "ENG-123",
  number: 123,
  title: "Fix the login page",
  url: LINEAR_ISSUE,
});

/** The API, as the dashboard reads it: the project, its sessions, and a config write answered with what it was sent. */
function serve(project: Project, sessions: Session[]) {
  const fetch = vi.fn(async (path: string, init?: RequestInit) => {
    if (init?.method === "PUT") return new Response(JSON.stringify({ ...project, ...JSON.parse(String(init.body)), version: project.version + 1 }), { status: 200 });
    const body = path.startsWith(`projects/${project.id}/sessions`) ? { items: sessions, nextToken: null } : project;
    return new Response(JSON.stringify(body), { status: 200 });
  });
  vi.stubGlobal("fetch", fetch);
  return fetch;
}

describe("the provider picker in the create sheet", () => {
  it("offers GitHub, Linear and Jira, GitHub first", async () => {
    // GIVEN the sheet, intake switched on
    render(<CreateSheet onClose={() => {}} onCreated={() => {}} />);
    await switchIntakeOn();
    // THEN the tracker is GitHub, and Linear can be picked
    const picker = screen.getByLabelText("Tracker") as HTMLSelectElement;
    expect(picker.value).toBe("github");
    expect([...picker.options].map((o) => o.textContent)).toEqual(["GitHub", "Linear", "Jira"]);
    expect(screen.queryByLabelText("Team key")).toBeNull();
  });

  it("on Linear asks for the team, hints an email assignee, and creates the rule without GitHub's fields", async () => {
    // GIVEN an API that creates what it is sent
    const fetch = vi.fn(async (_path: string, init?: RequestInit) => new Response(String(init?.body), { status: 201 }));
    vi.stubGlobal("fetch", fetch);
    const created = vi.fn();
    render(<CreateSheet onClose={() => {}} onCreated={created} />);
    const submit = screen.getByRole("button", { name: "Create project" }) as HTMLButtonElement;
    await switchIntakeOn();
    // WHEN Linear is picked for project eng
    fireEvent.change(screen.getByLabelText("Project id"), { target: { value: "eng" } });
    fireEvent.change(screen.getByLabelText("Tracker"), { target: { value: "linear" } });
    // THEN the team is asked for, and nothing can be created without it
    expect(screen.getByText("A Linear rule needs the team's key (such as ENG).")).toBeTruthy();
    expect(submit.disabled).toBe(true);
    expect(screen.getByPlaceholderText("type an email or * for any")).toBeTruthy();
    expect(screen.getByText(/The assignee's email;/)).toBeTruthy();
    expect(screen.getByText(/Only issues by MEMBER start sessions/)).toBeTruthy();
    // WHEN a login is given as the assignee THEN it is refused before it is sent
    fireEvent.change(screen.getByLabelText("Team key"), { target: { value: "ENG" } });
    fireEvent.change(screen.getByLabelText("Assignee"), { target: { value: "ada" } });
    expect(screen.getByText("On Linear, the assignee is an email, * or none.")).toBeTruthy();
    expect(submit.disabled).toBe(true);
    // WHEN the email is given (intake on) THEN the Linear rule is sent, with no repo and no memberWriteCheck
    fireEvent.change(screen.getByLabelText("Assignee"), { target: { value: "ada@acme.test" } });
    fireEvent.click(submit);
    await waitFor(() => expect(created).toHaveBeenCalled());
    const sent = JSON.parse(String(fetch.mock.calls[0][1]?.body)).trackerIntake;
    expect(sent).toMatchObject({ enabled: true, provider: "linear", team: "ENG", assignee: "ada@acme.test", authors: ["MEMBER"] });
    expect(sent).not.toHaveProperty("repo");
    expect(sent).not.toHaveProperty("memberWriteCheck");
  });

  it("shows the API's reason at the team field", async () => {
    // GIVEN an API that refuses the team
    const refusal = { message: "invalid request", errors: [{ field: "trackerIntake.team", reason: "no such team in the workspace" }] };
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify(refusal), { status: 422 })));
    render(<CreateSheet onClose={() => {}} onCreated={() => {}} />);
    await switchIntakeOn();
    // WHEN a Linear project is created
    fireEvent.change(screen.getByLabelText("Project id"), { target: { value: "eng" } });
    fireEvent.change(screen.getByLabelText("Tracker"), { target: { value: "linear" } });
    fireEvent.change(screen.getByLabelText("Team key"), { target: { value: "ENG" } });
    fireEvent.change(screen.getByLabelText("Assignee"), { target: { value: "*" } });
    fireEvent.click(screen.getByRole("button", { name: "Create project" }));
    // THEN the reason is shown at the team field, and not again as a sentence below
    expect(await screen.findByText("no such team in the workspace")).toBeTruthy();
    expect(screen.queryByRole("alert")).toBeNull();
  });
});

describe("the settings card of a Linear project", () => {
  it("shows the team and Linear's creator kinds, and hides the repository and the members' write check", async () => {
    // GIVEN a project on Linear team ENG
    serve(linearProject, []);
    render(<ProjectView id="eng" tab="settings" />);
    await editSettings();
    // THEN the team is shown and editable; the repository and GitHub's associations are not
    expect(await screen.findByText("Linear team: ENG")).toBeTruthy();
    expect((screen.getByLabelText("Tracker") as HTMLSelectElement).value).toBe("linear");
    expect((screen.getByLabelText("Team key") as HTMLInputElement).value).toBe("ENG");
    expect(screen.queryByLabelText("Repository override (owner/name)")).toBeNull();
    expect(screen.queryByText(/Members must have write access/)).toBeNull();
    const kinds = within(screen.getByRole("group", { name: /the issue creator's kind/ })).getAllByRole("checkbox");
    expect(kinds.map((k) => k.parentElement?.textContent?.trim())).toEqual(["MEMBER", "GUEST", "APP"]);
  });

  it("switched to GitHub, shows the repository and GitHub's default authors, and saves a GitHub rule", async () => {
    // GIVEN a project on Linear team ENG
    const fetch = serve(linearProject, []);
    render(<ProjectView id="eng" tab="settings" />);
    await editSettings();
    // WHEN its tracker is switched to GitHub and the rule saved
    fireEvent.change(await screen.findByLabelText("Tracker"), { target: { value: "github" } });
    expect(screen.getByLabelText("Repository override (owner/name)")).toBeTruthy();
    expect(screen.queryByLabelText("Team key")).toBeNull();
    fireEvent.change(screen.getByLabelText("Assignee"), { target: { value: "ada" } });
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    // THEN a GitHub rule is sent: no team, GitHub's default associations, the write check on
    await waitFor(() => expect(fetch.mock.calls.some(([, init]) => init?.method === "PUT")).toBe(true));
    const put = fetch.mock.calls.find(([, init]) => init?.method === "PUT");
    const sent = JSON.parse(String(put?.[1]?.body)).trackerIntake;
    expect(sent).toMatchObject({ provider: "github", authors: ["OWNER", "MEMBER", "COLLABORATOR"], memberWriteCheck: true });
    expect(sent).not.toHaveProperty("team");
  });
});

describe("a Linear session", () => {
  it("shows its identifier as a chip linking to the issue, and the canonical id in the inspector", async () => {
    // GIVEN a launched session on ENG-123
    serve(linearProject, [linearSession]);
    render(<ProjectView id="eng" />);
    // THEN its row shows the ENG-123 chip, linking to the issue
    const chip = await screen.findByText("ENG-123", { selector: "tr a.identifier" });
    expect(chip.getAttribute("href")).toBe(LINEAR_ISSUE);
    // AND the inspector names the issue by its identifier, beside the canonical id, both linking to it
    fireEvent.click(chip.closest("tr") as HTMLElement);
    const dialog = await screen.findByRole("dialog");
    expect(within(dialog).getByText("ENG-123", { selector: "dd a.identifier" }).getAttribute("href")).toBe(LINEAR_ISSUE);
    expect(within(dialog).getByText(linearSession.issueId, { selector: "a.canonical" }).getAttribute("href")).toBe(LINEAR_ISSUE);
  });

  it("names a GitHub session #42, in its row and in the inspector, with no identifier chip beside the canonical id", async () => {
    // GIVEN a GitHub project's launched session on #42
    const github = { ...linearProject, id: "demo", trackerIntake: { ...linearProject.trackerIntake, provider: "github", team: null, authors: ["OWNER"], memberWriteCheck: true } } as Project;
    serve(github, [aSession()]);
    render(<ProjectView id="demo" />);
    // THEN its row reads #42; the inspector says #42 beside the canonical id, with no identifier chip
    const row = (await screen.findByText("#42", { selector: "tr a.identifier" })).closest("tr") as HTMLElement;
    fireEvent.click(row);
    const dialog = await screen.findByRole("dialog");
    expect(within(dialog).getByText("#42")).toBeTruthy();
    expect(within(dialog).getByText("github:acme/app#42", { selector: "a.canonical" })).toBeTruthy();
    expect(dialog.querySelector("a.identifier")).toBeNull();
  });
});
