import type { PollView, Session } from "../src/api";

/** A launched session of acme/app#42, as the API lists it, with the fields a test sets. */
export function aSession(overrides: Partial<Session> = {}): Session {
  return {
    issueId: "github:acme/app#42",
    projectId: "demo",
    provider: "github",
    status: "launched",
    number: 42,
    title: "Crash on empty config",
    url: "https://github.com/acme/app/issues/42",
    claimedAt: "2026-11-24T12:00:00.000000Z",
    attempts: 1,
    generation: 1,
    sessionRef: "sess-1",
    statusHistory: [],
    ...overrides,
  };
}

/** On the project page's Settings tab, open the form ("Edit settings"). */
export async function editSettings(): Promise<void> {
  const { fireEvent, screen } = await import("@testing-library/react");
  fireEvent.click(await screen.findByRole("button", { name: "Edit settings" }));
}

/** In the create sheet, switch intake on: the rule's fields show only then. */
export async function switchIntakeOn(): Promise<void> {
  const { fireEvent, screen } = await import("@testing-library/react");
  fireEvent.click(screen.getByRole("switch", { name: "Tracker intake" }));
}

/** A recorded poll of a GitHub project, as GET /projects/{id}/polls lists it, with the fields a test sets. */
export function aPoll(overrides: Partial<PollView> = {}): PollView {
  return { at: "2026-12-05T08:59:00Z", result: "not_modified", provider: "github", requests: 1, pages: 1, notModified: 1, newSessions: [], backlogRecorded: 0, heldBack: 0, ...overrides };
}
