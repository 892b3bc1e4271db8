import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Project } from "../src/api";
import { relative, utc } from "../src/format";
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
  it("says how long ago or how soon, in the largest unit that fits", () => {
    // GIVEN moments around now WHEN said relatively THEN minutes, hours and days, past and future
    expect(relative("2026-11-24T12:02:50Z", NOW)).toBe("just now");
    expect(relative("2026-11-24T12:00:00Z", NOW)).toBe("3 min ago");
    expect(relative("2026-11-24T12:04:00Z", NOW)).toBe("in 1 min");
    expect(relative("2026-11-24T09:03:00Z", NOW)).toBe("3 h ago");
    expect(relative("2026-11-23T12:03:00Z", NOW)).toBe("1 day ago");
    expect(relative("2026-11-19T12:03:00Z", NOW)).toBe("5 days ago");
  });

  it("gives the ISO time in UTC to the second, whatever the API's precision", () => {
    expect(utc("2026-11-24T12:00:00.000000Z")).toBe("2026-11-24T12:00:00Z");
    expect(utc("2026-11-24T13:00:00+01:00")).toBe("2026-11-24T12:00:00Z");
  });

  it("is a time element: relative text, the ISO UTC time as its dateTime and title", () => {
    // GIVEN a moment three minutes before now WHEN it is shown
    render(<When at="2026-11-24T12:00:00.000000Z" now={NOW} />);
    // THEN it reads "3 min ago", and holds the exact time
    const time = screen.getByText("3 min ago");
    expect(time.tagName).toBe("TIME");
    expect(time.getAttribute("dateTime")).toBe("2026-11-24T12:00:00Z");
    expect(time.getAttribute("title")).toBe("2026-11-24T12:00:00Z");
  });

  it("says never without a moment", () => {
    render(<When at={null} />);
    expect(screen.getByText("never")).toBeTruthy();
  });

  it("is how a session card says when the issue was claimed", async () => {
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
    // THEN the card says "claimed 3 min ago", the exact time on hover
    const time = await screen.findByText("3 min ago", { selector: "time" });
    expect(time.getAttribute("title")).toBe("2026-11-24T12:00:00Z");
  });
});
