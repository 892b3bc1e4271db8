import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Project, Session } from "../src/api";
import { CreateSheet } from "../src/CreateSheet";
import { ProjectView } from "../src/ProjectView";
import { ProjectsView } from "../src/ProjectsView";
import { aSession, editSettings, switchIntakeOn } from "./fixtures";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const JIRA_ISSUE = "https://acme.atlassian.net/browse/PROJ-123";
const ACCOUNT_ID = "5b10ac8d82e05b22cc7d4ef5";

const jiraProject = {
  id: "proj",
  name: null,
  gitOrigin: "git@github.com:acme/app.git",
  trackerIntake: { enabled: true, provider: "jira", site: "acme.atlassian.net", project: "PROJ", team: null, repo: null, labels: ["agent"], assignee: ACCOUNT_ID, excludeLabels: null, maxSessionsPerPoll: 10, credential: null, authors: ["MEMBER"], backlog: "new", acknowledge: "comment" },
  version: 2,
  intake: { state: "ok", repo: null, consecutiveFailures: 0 },
} as unknown as Project;

const jiraSession = aSession({
  issueId: "jira:acme.atlassian.net/10042",
  projectId: "proj",
  provider: "jira",
  identifier: "PROJ-123",
  number: 123,
  title: "Fix the login page",
  url: JIRA_ISSUE,
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

function acknowledgeChoices(): string[] {
  const select = screen.getByLabelText("Once a session is launched, write on the issue") as HTMLSelectElement;
  return [...select.options].map((o) => o.value);
}

describe("the provider picker in the create sheet", () => {
  it("offers GitHub, Linear and Jira, GitHub first, once intake is on", async () => {
    // GIVEN the sheet, intake switched on
    render(<CreateSheet onClose={() => {}} onCreated={() => {}} />);
    expect(screen.queryByLabelText("Tracker")).toBeNull();
    await switchIntakeOn();
    // THEN the tracker is GitHub, and Jira can be picked
    const picker = screen.getByLabelText("Tracker") as HTMLSelectElement;
    expect(picker.value).toBe("github");
    expect([...picker.options].map((o) => o.textContent)).toEqual(["GitHub", "Linear", "Jira"]);
    expect(screen.queryByLabelText("Site")).toBeNull();
    expect(screen.queryByLabelText("Project key")).toBeNull();
  });

  it("on Jira asks for the site and the project, hints an account id or email, and creates the rule without the others' fields", async () => {
    // GIVEN an API that creates what it is sent
    const fetch = vi.fn(async (_path: string, init?: RequestInit) => new Response(String(init?.body), { status: 201 }));
    vi.stubGlobal("fetch", fetch);
    const created = vi.fn();
    render(<CreateSheet onClose={() => {}} onCreated={created} />);
    const submit = screen.getByRole("button", { name: "Create project" }) as HTMLButtonElement;
    await switchIntakeOn();
    // WHEN Jira is picked for project proj
    fireEvent.change(screen.getByLabelText("Project id"), { target: { value: "proj" } });
    fireEvent.change(screen.getByLabelText("Tracker"), { target: { value: "jira" } });
    // THEN the site and the project are asked for, and nothing can be created without them
    expect(screen.getByText("A Jira rule needs the site's host name (such as acme.atlassian.net).")).toBeTruthy();
    expect(screen.getByText("A Jira rule needs the project's key (such as PROJ).")).toBeTruthy();
    expect(submit.disabled).toBe(true);
    expect(screen.getByPlaceholderText("type an account id or email, or * for any")).toBeTruthy();
    expect(screen.getByText(/The assignee's Atlassian account id or email;/)).toBeTruthy();
    expect(screen.getByText(/Only issues by MEMBER start sessions/)).toBeTruthy();
    expect(acknowledgeChoices()).not.toContain("reaction");
    // WHEN a bad site and a lower-case key are given THEN each is refused before it is sent
    fireEvent.change(screen.getByLabelText("Site"), { target: { value: "Acme Site" } });
    fireEvent.change(screen.getByLabelText("Project key"), { target: { value: "proj" } });
    expect(screen.getByText(/Site is the site's host name in lower case/)).toBeTruthy();
    expect(screen.getByText(/Project key is an upper-case letter/)).toBeTruthy();
    expect(submit.disabled).toBe(true);
    // WHEN a login is given as the assignee THEN it is refused before it is sent
    fireEvent.change(screen.getByLabelText("Site"), { target: { value: "acme.atlassian.net" } });
    fireEvent.change(screen.getByLabelText("Project key"), { target: { value: "PROJ" } });
    fireEvent.change(screen.getByLabelText("Assignee"), { target: { value: "ada" } });
    expect(screen.getByText("On Jira, the assignee is an account id, an email, * or none.")).toBeTruthy();
    expect(submit.disabled).toBe(true);
    // WHEN an account id is given (intake on) THEN the Jira rule is sent, with no repo, team or memberWriteCheck
    fireEvent.change(screen.getByLabelText("Assignee"), { target: { value: ACCOUNT_ID } });
    expect(submit.disabled).toBe(false);
    fireEvent.click(submit);
    await waitFor(() => expect(created).toHaveBeenCalled());
    const sent = JSON.parse(String(fetch.mock.calls[0][1]?.body)).trackerIntake;
    expect(sent).toMatchObject({ enabled: true, provider: "jira", site: "acme.atlassian.net", project: "PROJ", assignee: ACCOUNT_ID, authors: ["MEMBER"] });
    expect(sent).not.toHaveProperty("repo");
    expect(sent).not.toHaveProperty("team");
    expect(sent).not.toHaveProperty("memberWriteCheck");
  });

  it("takes an email as the assignee on Jira", async () => {
    // GIVEN the sheet on Jira with its site and project
    render(<CreateSheet onClose={() => {}} onCreated={() => {}} />);
    await switchIntakeOn();
    fireEvent.change(screen.getByLabelText("Project id"), { target: { value: "proj" } });
    fireEvent.change(screen.getByLabelText("Tracker"), { target: { value: "jira" } });
    fireEvent.change(screen.getByLabelText("Site"), { target: { value: "acme.atlassian.net" } });
    fireEvent.change(screen.getByLabelText("Project key"), { target: { value: "PROJ" } });
    // WHEN an email is the assignee THEN nothing is refused
    fireEvent.change(screen.getByLabelText("Assignee"), { target: { value: "ada@acme.test" } });
    expect(screen.queryByText(/On Jira, the assignee/)).toBeNull();
    expect((screen.getByRole("button", { name: "Create project" }) as HTMLButtonElement).disabled).toBe(false);
  });

  it("moving a rule that acknowledges with a reaction to Jira sets the acknowledgement back to none", async () => {
    // GIVEN the sheet on GitHub, acknowledging with a reaction
    render(<CreateSheet onClose={() => {}} onCreated={() => {}} />);
    await switchIntakeOn();
    const acknowledge = screen.getByLabelText("Once a session is launched, write on the issue") as HTMLSelectElement;
    fireEvent.change(acknowledge, { target: { value: "reaction" } });
    expect(acknowledgeChoices()).toContain("reaction");
    // WHEN Jira is picked
    fireEvent.change(screen.getByLabelText("Tracker"), { target: { value: "jira" } });
    // THEN the acknowledgement is none, and a reaction cannot be chosen
    expect((screen.getByLabelText("Once a session is launched, write on the issue") as HTMLSelectElement).value).toBe("none");
    expect(acknowledgeChoices()).toEqual(["none", "comment", "label"]);
  });

  it("shows the API's reason at the site and project fields", async () => {
    // GIVEN an API that refuses the site and the project
    const refusal = {
      message: "invalid request",
      errors: [
        { field: "trackerIntake.site", reason: "no such site" },
        { field: "trackerIntake.project", reason: "no such project on the site" },
      ],
    };
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify(refusal), { status: 422 })));
    render(<CreateSheet onClose={() => {}} onCreated={() => {}} />);
    await switchIntakeOn();
    // WHEN a Jira project is created
    fireEvent.change(screen.getByLabelText("Project id"), { target: { value: "proj" } });
    fireEvent.change(screen.getByLabelText("Tracker"), { target: { value: "jira" } });
    fireEvent.change(screen.getByLabelText("Site"), { target: { value: "acme.atlassian.net" } });
    fireEvent.change(screen.getByLabelText("Project key"), { target: { value: "PROJ" } });
    fireEvent.change(screen.getByLabelText("Assignee"), { target: { value: "*" } });
    fireEvent.click(screen.getByRole("button", { name: "Create project" }));
    // THEN each reason is shown at its field, and not again as a sentence below
    expect(await screen.findByText("no such site")).toBeTruthy();
    expect(screen.getByText("no such project on the site")).toBeTruthy();
    expect(screen.queryByRole("alert")).toBeNull();
  });
});

describe("the settings card of a Jira project", () => {
  it("shows the site and project, Jira's reporter kinds and acknowledgements, and hides the repository and the members' write check", async () => {
    // GIVEN a project on Jira project PROJ
    serve(jiraProject, []);
    render(<ProjectView id="proj" tab="settings" />);
    await editSettings();
    // THEN the site and project are shown and editable; the repository and GitHub's associations are not
    expect(await screen.findByText("Jira project: PROJ on acme.atlassian.net")).toBeTruthy();
    expect((screen.getByLabelText("Tracker") as HTMLSelectElement).value).toBe("jira");
    expect((screen.getByLabelText("Site") as HTMLInputElement).value).toBe("acme.atlassian.net");
    expect((screen.getByLabelText("Project key") as HTMLInputElement).value).toBe("PROJ");
    expect((screen.getByLabelText("Assignee") as HTMLInputElement).value).toBe(ACCOUNT_ID);
    expect(screen.queryByLabelText("Repository override (owner/name)")).toBeNull();
    expect(screen.queryByLabelText("Team key")).toBeNull();
    expect(screen.queryByText(/Members must have write access/)).toBeNull();
    const kinds = within(screen.getByRole("group", { name: /the reporter's kind/ })).getAllByRole("checkbox");
    expect(kinds.map((k) => k.parentElement?.textContent?.trim())).toEqual(["MEMBER", "APP", "CUSTOMER"]);
    expect(acknowledgeChoices()).toEqual(["none", "comment", "label"]);
    expect(screen.getByText(/Jira has no reactions/)).toBeTruthy();
  });

  it("saves a widened reporter list as a Jira rule", async () => {
    // GIVEN a project on Jira project PROJ
    const fetch = serve(jiraProject, []);
    render(<ProjectView id="proj" tab="settings" />);
    await editSettings();
    // WHEN customers are allowed and the rule saved
    const kinds = within(await screen.findByRole("group", { name: /the reporter's kind/ }));
    fireEvent.click(kinds.getByLabelText("CUSTOMER"));
    expect(screen.getByText(/Widened to CUSTOMER/)).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    // THEN a Jira rule is sent with its site, project and reporter kinds, and no other tracker's fields
    await waitFor(() => expect(fetch.mock.calls.some(([, init]) => init?.method === "PUT")).toBe(true));
    const put = fetch.mock.calls.find(([, init]) => init?.method === "PUT");
    const sent = JSON.parse(String(put?.[1]?.body)).trackerIntake;
    expect(sent).toMatchObject({ provider: "jira", site: "acme.atlassian.net", project: "PROJ", authors: ["MEMBER", "CUSTOMER"], acknowledge: "comment" });
    expect(sent).not.toHaveProperty("repo");
    expect(sent).not.toHaveProperty("team");
    expect(sent).not.toHaveProperty("memberWriteCheck");
  });

  it("switched to GitHub, shows the repository and GitHub's default authors, and saves a GitHub rule", async () => {
    // GIVEN a project on Jira project PROJ
    const fetch = serve(jiraProject, []);
    render(<ProjectView id="proj" tab="settings" />);
    await editSettings();
    // WHEN its tracker is switched to GitHub and the rule saved
    fireEvent.change(await screen.findByLabelText("Tracker"), { target: { value: "github" } });
    expect(screen.getByLabelText("Repository override (owner/name)")).toBeTruthy();
    expect(screen.queryByLabelText("Site")).toBeNull();
    expect(screen.queryByLabelText("Project key")).toBeNull();
    const kinds = within(screen.getByRole("group", { name: /the issue author's association/ })).getAllByRole("checkbox");
    expect(kinds.map((k) => k.parentElement?.textContent?.trim())).not.toContain("CUSTOMER");
    fireEvent.change(screen.getByLabelText("Assignee"), { target: { value: "ada" } });
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    // THEN a GitHub rule is sent: no site or project, GitHub's default associations, the write check on
    await waitFor(() => expect(fetch.mock.calls.some(([, init]) => init?.method === "PUT")).toBe(true));
    const put = fetch.mock.calls.find(([, init]) => init?.method === "PUT");
    const sent = JSON.parse(String(put?.[1]?.body)).trackerIntake;
    expect(sent).toMatchObject({ provider: "github", authors: ["OWNER", "MEMBER", "COLLABORATOR"], memberWriteCheck: true });
    expect(sent).not.toHaveProperty("site");
    expect(sent).not.toHaveProperty("project");
  });
});

describe("a Jira project in the list", () => {
  it("names its site and project where a GitHub project names its repository", async () => {
    // GIVEN the API lists one Jira project
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify({ items: [jiraProject], nextToken: null }), { status: 200 })));
    render(<ProjectsView />);
    // THEN its card says where it reads, and its rule names the project
    expect(await screen.findByText("Jira project PROJ on acme.atlassian.net")).toBeTruthy();
    expect(screen.getByText(/PROJ's open issues labelled agent/)).toBeTruthy();
  });
});

describe("a Jira session", () => {
  it("shows its key as a chip linking to the issue, and the canonical id in the inspector", async () => {
    // GIVEN a launched session on PROJ-123
    serve(jiraProject, [jiraSession]);
    render(<ProjectView id="proj" />);
    // THEN its row shows the PROJ-123 chip linking to the issue
    const chip = await screen.findByText("PROJ-123", { selector: "tr a.identifier" });
    expect(chip.getAttribute("href")).toBe(JIRA_ISSUE);
    // AND the inspector names the issue by its key, beside the canonical id, both linking to it
    fireEvent.click(chip.closest("tr") as HTMLElement);
    const dialog = await screen.findByRole("dialog");
    expect(within(dialog).getByText("PROJ-123", { selector: "dd a.identifier" }).getAttribute("href")).toBe(JIRA_ISSUE);
    expect(within(dialog).getByText(jiraSession.issueId, { selector: "a.canonical" }).getAttribute("href")).toBe(JIRA_ISSUE);
  });
});
