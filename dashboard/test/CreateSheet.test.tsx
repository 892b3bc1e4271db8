import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CreateSheet } from "../src/CreateSheet";

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
