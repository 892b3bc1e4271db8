import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CreateSheet } from "../src/CreateSheet";
import { switchIntakeOn } from "./fixtures";

afterEach(cleanup);

describe("the create-project sheet", () => {
  it("keeps submit disabled until the id and, with intake on, a rule are set", () => {
    // GIVEN the sheet
    render(<CreateSheet onClose={() => {}} onCreated={() => {}} />);
    const submit = screen.getByRole("button", { name: "Create project" });
    // WHEN an id is typed THEN it may be created (intake is off)
    fireEvent.change(screen.getByLabelText("Project id"), { target: { value: "web" } });
    expect((submit as HTMLButtonElement).disabled).toBe(false);
    // WHEN intake is switched on THEN it waits for a label or an assignee, and says so
    fireEvent.click(screen.getByRole("switch", { name: "Tracker intake" }));
    expect((submit as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByText("Enabling intake requires a label or an assignee.")).toBeTruthy();
    fireEvent.change(screen.getByLabelText("Assignee"), { target: { value: "*" } });
    expect((submit as HTMLButtonElement).disabled).toBe(false);
  });

  it("shows the backlog choice, new by default, and counts what all would start from a preview", async () => {
    // GIVEN an API whose preview says two issues match and all would start both
    const fetch = vi.fn(async (_path: string, _init?: RequestInit) => new Response(JSON.stringify({ repo: "acme/app", eligible: [], skipped: [], truncated: false, requests: 1, wouldStart: 0, wouldStartWithAll: 2 }), { status: 200 }));
    vi.stubGlobal("fetch", fetch);
    render(<CreateSheet onClose={() => {}} onCreated={() => {}} />);
    await switchIntakeOn();
    // THEN the safe choice is made, and the count waits for a repository and a rule
    const onlyNew = screen.getByRole("radio", { name: /Only issues that match from now on/ }) as HTMLInputElement;
    expect(onlyNew.checked).toBe(true);
    const countButton = screen.getByRole("button", { name: "Count what all would start" }) as HTMLButtonElement;
    expect(countButton.disabled).toBe(true);
    // WHEN a git origin and a label are given, and the count is asked for
    fireEvent.change(screen.getByLabelText("Git origin"), { target: { value: "git@github.com:acme/app.git" } });
    const labels = screen.getByLabelText("Labels (an issue needs every one)");
    fireEvent.change(labels, { target: { value: "agent" } });
    fireEvent.keyDown(labels, { key: "Enter" });
    fireEvent.click(countButton);
    // THEN the project-less preview was asked with intake on, and its counts are said
    expect(await screen.findByText("Saved with new, this starts 0 sessions now; all would start 2 sessions.")).toBeTruthy();
    const [path, init] = fetch.mock.calls[0];
    expect(path).toBe("preview");
    expect(JSON.parse(String(init?.body))).toMatchObject({ gitOrigin: "git@github.com:acme/app.git", trackerIntake: { enabled: true, labels: ["agent"], backlog: "new" } });
    // AND WHEN `all` is chosen THEN the same count says what saving starts, and it is what is sent
    fireEvent.click(screen.getByRole("radio", { name: /Every matching open issue/ }));
    expect(screen.getByText("Saved with all, this starts 2 sessions now (max sessions per poll each minute).")).toBeTruthy();
    vi.unstubAllGlobals();
  });

  it("sends the acknowledge choice, none unless another is chosen", async () => {
    // GIVEN an API that creates what it is sent
    const fetch = vi.fn(async (_path: string, init?: RequestInit) => new Response(String(init?.body), { status: 201 }));
    vi.stubGlobal("fetch", fetch);
    const created = vi.fn();
    render(<CreateSheet onClose={() => {}} onCreated={created} />);
    await switchIntakeOn();
    const select = screen.getByLabelText("Once a session is launched, write on the issue") as HTMLSelectElement;
    expect(select.value).toBe("none");
    expect(screen.getByText(/Anything but none needs write access to issues/)).toBeTruthy();
    // WHEN a reaction is chosen, intake switched off again, and the project created
    fireEvent.change(screen.getByLabelText("Project id"), { target: { value: "web" } });
    fireEvent.change(select, { target: { value: "reaction" } });
    fireEvent.click(screen.getByRole("switch", { name: "Tracker intake" }));
    fireEvent.click(screen.getByRole("button", { name: "Create project" }));
    // THEN the choice is sent, though intake is off and has no rule yet
    await waitFor(() => expect(created).toHaveBeenCalled());
    const [path, init] = fetch.mock.calls[0];
    expect(path).toBe("projects");
    expect(JSON.parse(String(init?.body)).trackerIntake).toMatchObject({ enabled: false, acknowledge: "reaction" });
    vi.unstubAllGlobals();
  });

  it("shows the API's reason next to the field it names", async () => {
    // GIVEN an API that refuses the id
    const refusal = { message: "invalid request: id: taken", errors: [{ field: "id", reason: "a project with this id already exists" }] };
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify(refusal), { status: 409 })));
    render(<CreateSheet onClose={() => {}} onCreated={() => {}} />);
    const id = screen.getByLabelText("Project id");
    fireEvent.change(id, { target: { value: "web" } });
    // WHEN the sheet is submitted
    fireEvent.click(screen.getByRole("button", { name: "Create project" }));
    // THEN the reason is under the id field, tied to it for screen readers
    const reason = await screen.findByText("a project with this id already exists");
    expect(id.getAttribute("aria-describedby")).toBe(reason.id);
    vi.unstubAllGlobals();
  });
});

describe("the create sheet's intake fields", () => {
  it("show only once intake is switched on", async () => {
    // GIVEN the sheet, intake off
    render(<CreateSheet onClose={() => {}} onCreated={() => {}} />);
    // THEN only the project's fields and the switch show: no tracker, labels, assignee, backlog or acknowledgement
    expect(screen.getByLabelText("Project id")).toBeTruthy();
    expect(screen.getByRole("switch", { name: "Tracker intake" }).getAttribute("aria-checked")).toBe("false");
    for (const label of ["Tracker", "Labels (an issue needs every one)", "Assignee", "Once a session is launched, write on the issue"]) expect(screen.queryByLabelText(label)).toBeNull();
    expect(screen.queryByRole("group", { name: /When intake is switched on/ })).toBeNull();
    // WHEN intake is switched on THEN they show
    await switchIntakeOn();
    for (const label of ["Tracker", "Labels (an issue needs every one)", "Assignee", "Once a session is launched, write on the issue"]) expect(screen.getByLabelText(label)).toBeTruthy();
    // AND switched off again THEN they hide
    fireEvent.click(screen.getByRole("switch", { name: "Tracker intake" }));
    expect(screen.queryByLabelText("Assignee")).toBeNull();
  });

  it("keep the Create button in the sheet's footer, outside the part that scrolls", async () => {
    // GIVEN the sheet with intake on (its longest form)
    render(<CreateSheet onClose={() => {}} onCreated={() => {}} />);
    await switchIntakeOn();
    // THEN the Create button is in the footer, not in the scrolling body
    const create = screen.getByRole("button", { name: "Create project" });
    expect(create.closest(".dialog-footer")).toBeTruthy();
    expect(create.closest(".dialog-body")).toBeNull();
    expect(screen.getByLabelText("Assignee").closest(".dialog-body")).toBeTruthy();
  });

  it("has nothing axe finds, intake off and on", async () => {
    const axe = (await import("axe-core")).default;
    render(<CreateSheet onClose={() => {}} onCreated={() => {}} />);
    expect((await axe.run(document.body)).violations.map((v) => v.id)).toEqual([]);
    await switchIntakeOn();
    expect((await axe.run(document.body)).violations.map((v) => v.id)).toEqual([]);
  });
});
