import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Project } from "../src/api";
import { duration } from "../src/format";
import { ProjectView } from "../src/ProjectView";
import { When } from "../src/ui";
import { aSession } from "./fixtures";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

const NOW = new Date("2026-11-24T12:03:00Z");

describe("times read as relative, with the absolute UTC time on hover", () => {
  it("is a time element: relative text, the ISO UTC time as its dateTime and title", () => {
    // GIVEN a moment three minutes before now WHEN it is shown
    render(<When at="2026-11-24T12:00:00.000000Z" now={NOW} />);
    // THEN it reads "3 min ago", and holds the exact time
    const time = screen.getByText("3 min ago");
    expect(time.tagName).toBe("TIME");
    expect(time.getAttribute("dateTime")).toBe("2026-11-24T12:00:00Z");
    expect(time.getAttribute("title")).toBe("2026-11-24 12:00:00 UTC");
  });

  it("says a span in its two largest units, days past two days", () => {
    expect([4_000, 252_000, 7_500_000, 47 * 3_600_000, 8015 * 3_600_000].map(duration)).toEqual(["4 s", "4 min 12 s", "2 h 5 min", "47 h 0 min", "333 days 23 h"]);
  });

  it("says never without a moment, or the word it is given", () => {
    render(<When at={null} />);
    expect(screen.getByText("never")).toBeTruthy();
    cleanup();
    render(<When at={null} never="—" />);
    expect(screen.getByText("—")).toBeTruthy();
  });

  it("is how the sessions table says when the issue was claimed", async () => {
    // GIVEN a session claimed three minutes ago
    vi.useFakeTimers({ now: NOW, toFake: ["Date"] });
    const project: Project = {
      id: "demo",
      name: null,
      gitOrigin: "git@github.com:acme/app.git",
      trackerIntake: null,
      version: 1,
      intake: { state: "disabled", repo: null, consecutiveFailures: 0 },
    } as unknown as Project;
    vi.stubGlobal(
      "fetch",
      vi.fn(async (path: string) => {
        const body = path.startsWith("projects/demo/sessions") ? { items: [aSession()], nextToken: null } : project;
        return new Response(JSON.stringify(body), { status: 200 });
      }),
    );
    // WHEN the project is shown
    render(<ProjectView id="demo" />);
    // THEN its row says "3 min ago", the exact time on hover, and no locale format anywhere
    const time = await screen.findByText("3 min ago", { selector: "time" });
    expect(time.closest("tr")).toBeTruthy();
    expect(time.getAttribute("title")).toBe("2026-11-24 12:00:00 UTC");
    expect(document.body.textContent).not.toMatch(/\d+\/\d+\/\d{4}|[AP]M\b/);
  });
});
