import axe from "axe-core";
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { Session } from "../src/api";
import { PickupLatencyChart, SessionsPerDayChart, sessionsPerDay, spanWords } from "../src/Charts";
import { aSession } from "./fixtures";

afterEach(cleanup);

/** axe in jsdom: no layout, so no colour contrast (the browser journeys check it). */
const AXE_OPTIONS = { rules: { "color-contrast": { enabled: false } } };

const NOW = new Date("2026-12-04T18:00:00Z");

/** A session claimed at `claimedAt`, with a pickup latency when given. */
function claimed(claimedAt: string, n: number, pickupSeconds?: number | null): Session {
  return aSession({ issueId: `github:acme/app#${n}`, number: n, claimedAt, pickupSeconds });
}

// Three on Dec 4 (one just after midnight UTC), one on Dec 2, two on Nov 21 (the first of 14 days), one before.
const SESSIONS = [
  claimed("2026-12-04T17:00:00Z", 1),
  claimed("2026-12-04T09:00:00Z", 2),
  claimed("2026-12-04T00:00:01Z", 3),
  claimed("2026-12-03T23:59:59Z", 4),
  claimed("2026-12-02T12:00:00Z", 5),
  claimed("2026-11-21T08:00:00Z", 6),
  claimed("2026-11-21T09:00:00Z", 7),
  claimed("2026-11-20T23:00:00Z", 8),
];

/** The chart whose caption is `name`. */
function figure(name: string): HTMLElement {
  return screen.getByText(name, { selector: "figcaption" }).closest("figure") as HTMLElement;
}

/** The tick labels of an axis, by its class (visx: visx-axis-left, visx-axis-bottom). */
function ticks(root: HTMLElement, axis: "left" | "bottom"): string[] {
  return [...root.querySelectorAll(`.visx-axis-${axis} .visx-axis-tick text`)].map((t) => t.textContent ?? "");
}

describe("sessions started per day", () => {
  it("counts by the claim's UTC day, every day of the last 14 there, zero days as 0", () => {
    // GIVEN sessions over three weeks WHEN counted for the 14 days to Dec 4
    const counts = sessionsPerDay(SESSIONS, NOW, 14);
    // THEN 14 days from Nov 21, a day without sessions counts 0
    expect(counts).toHaveLength(14);
    expect(new Date(counts[0].day).toISOString()).toBe("2026-11-21T00:00:00.000Z");
    expect(counts.map((c) => c.count)).toEqual([2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3]);
  });

  it("draws one bar a day, a zero day as a visible tick on the baseline", () => {
    // GIVEN those sessions WHEN the chart is drawn
    render(<SessionsPerDayChart sessions={SESSIONS} now={NOW} />);
    const chart = figure("Sessions started per day, last 14 days");
    // THEN 14 bars, 10 of them zero days, each zero a bar 2 px high
    const bars = [...chart.querySelectorAll("rect[data-day]")];
    expect(bars).toHaveLength(14);
    const zeros = bars.filter((b) => b.getAttribute("data-count") === "0");
    expect(zeros).toHaveLength(10);
    expect(zeros.every((b) => b.classList.contains("bar-zero") && b.getAttribute("height") === "2")).toBe(true);
    expect(bars.at(-1)?.getAttribute("data-day")).toBe("2026-12-04");
    expect(bars.at(-1)?.getAttribute("data-count")).toBe("3");
  });

  it("has both axes with tick labels: dates under, counts beside", () => {
    // GIVEN the chart
    render(<SessionsPerDayChart sessions={SESSIONS} now={NOW} />);
    const chart = figure("Sessions started per day, last 14 days");
    // THEN every other day is labelled, today included; the counts are whole numbers from 0
    expect(ticks(chart, "bottom")).toEqual(["Nov 22", "Nov 24", "Nov 26", "Nov 28", "Nov 30", "Dec 2", "Dec 4"]);
    expect(ticks(chart, "left")).toEqual(["0", "1", "2", "3"]);
  });

  it("sums its numbers up for screen readers, in its label and a hidden table", () => {
    // GIVEN the chart THEN the image's label says the total, the busiest day and the zero days
    render(<SessionsPerDayChart sessions={SESSIONS} now={NOW} />);
    const image = screen.getByRole("img");
    expect(image.getAttribute("aria-label")).toBe("7 sessions started in the last 14 days, Nov 21 to Dec 4: the most, 3, on Dec 4; 10 days with none.");
    // AND a table gives every day's count, zeros included
    const table = screen.getByRole("table", { name: "Sessions started per day, last 14 days (UTC)" });
    const cells = within(table).getAllByRole("row").slice(1).map((r) => r.textContent);
    expect(cells[0]).toBe("Nov 212");
    expect(cells[1]).toBe("Nov 220");
  });

  it("says a day's count in a tooltip on keyboard focus, the arrow keys moving day to day", () => {
    // GIVEN the chart WHEN it takes the keyboard's focus
    render(<SessionsPerDayChart sessions={SESSIONS} now={NOW} />);
    const image = screen.getByRole("img");
    fireEvent.focus(image);
    // THEN the tooltip gives today's count
    expect(document.querySelector(".chart-tooltip")?.textContent).toBe("Dec 4: 3 sessions");
    // WHEN the left arrow is pressed twice THEN Dec 2, then a zero day: 0 sessions
    fireEvent.keyDown(image, { key: "ArrowLeft" });
    expect(document.querySelector(".chart-tooltip")?.textContent).toBe("Dec 3: 1 session");
    fireEvent.keyDown(image, { key: "Home" });
    fireEvent.keyDown(image, { key: "ArrowRight" });
    expect(document.querySelector(".chart-tooltip")?.textContent).toBe("Nov 22: 0 sessions");
    // AND the same words are said to screen readers
    expect(screen.getByText("Nov 22: 0 sessions", { selector: "[aria-live]" })).toBeTruthy();
    // WHEN the focus leaves THEN the tooltip goes
    fireEvent.blur(image);
    expect(document.querySelector(".chart-tooltip")).toBeNull();
  });

  it("says a day's count in a tooltip on hover, a zero day too", () => {
    // GIVEN the chart WHEN the pointer is over a zero day's column THEN its tooltip says 0
    render(<SessionsPerDayChart sessions={SESSIONS} now={NOW} />);
    const zero = document.querySelector('rect[data-day="2026-11-25"]')?.parentElement as Element;
    fireEvent.mouseEnter(zero);
    expect(document.querySelector(".chart-tooltip")?.textContent).toBe("Nov 25: 0 sessions");
    fireEvent.mouseLeave(zero);
    expect(document.querySelector(".chart-tooltip")).toBeNull();
  });

  it("shows 14 zero days when there are no sessions", () => {
    // GIVEN no sessions WHEN the chart is drawn THEN 14 zero bars, and the label says none started
    render(<SessionsPerDayChart sessions={[]} now={NOW} />);
    expect(document.querySelectorAll("rect.bar-zero")).toHaveLength(14);
    expect(screen.getByRole("img").getAttribute("aria-label")).toBe("No sessions started in the last 14 days.");
    expect(ticks(figure("Sessions started per day, last 14 days"), "left")).toEqual(["0", "1"]);
  });
});

describe("pickup latency over time", () => {
  const LAUNCHED = [
    claimed("2026-12-04T17:00:00Z", 1, 42),
    claimed("2026-12-04T12:00:00Z", 2, 95),
    claimed("2026-12-03T09:00:00Z", 3, 30),
    claimed("2026-12-01T09:00:00Z", 4, 61),
    claimed("2026-12-04T17:30:00Z", 5, null),
    claimed("2026-12-04T17:40:00Z", 6),
  ];

  it("says so when no session has a known pickup latency", () => {
    // GIVEN sessions without a pickup latency WHEN the chart is drawn THEN it says none launched yet
    render(<PickupLatencyChart sessions={SESSIONS} />);
    expect(within(figure("Pickup latency")).getByText("No launched sessions yet")).toBeTruthy();
    expect(screen.queryByRole("img")).toBeNull();
  });

  it("draws a point per launched session with a known latency, in time order", () => {
    // GIVEN four launches with a latency, and two without WHEN drawn THEN four points
    render(<PickupLatencyChart sessions={LAUNCHED} />);
    expect(document.querySelectorAll("circle.latency-point")).toHaveLength(4);
    expect(screen.getByRole("img").getAttribute("aria-label")).toBe(
      "Pickup latency of 4 launched sessions, Dec 1 09:00 UTC to Dec 4 17:00 UTC: median 42 s, p95 1 min 35 s, the latest 42 s.",
    );
  });

  it("has both axes with tick labels: dates under, durations beside", () => {
    // GIVEN latencies up to 95 s over four days WHEN drawn
    render(<PickupLatencyChart sessions={LAUNCHED} />);
    const chart = figure("Pickup latency");
    // THEN the x axis names days, the y axis seconds
    expect(ticks(chart, "bottom").length).toBeGreaterThan(1);
    expect(ticks(chart, "bottom").every((t) => /^(Nov|Dec) \d+$/.test(t))).toBe(true);
    expect(ticks(chart, "left")[0]).toBe("0 s");
    expect(ticks(chart, "left").every((t) => / s$/.test(t))).toBe(true);
  });

  it("counts in minutes when the latencies are longer, and in times of day over a day", () => {
    // GIVEN latencies up to 20 min within a day WHEN drawn THEN minutes beside, hours:minutes under
    render(<PickupLatencyChart sessions={[claimed("2026-12-04T09:00:00Z", 1, 600), claimed("2026-12-04T15:00:00Z", 2, 1200)]} />);
    const chart = figure("Pickup latency");
    expect(ticks(chart, "left").every((t) => / min$/.test(t))).toBe(true);
    expect(ticks(chart, "bottom").every((t) => /^\d\d:\d\d$/.test(t))).toBe(true);
  });

  it("says a launch's latency in a tooltip on keyboard focus and on hover", () => {
    // GIVEN the chart WHEN focused THEN the latest launch
    render(<PickupLatencyChart sessions={LAUNCHED} />);
    const image = screen.getByRole("img");
    fireEvent.focus(image);
    expect(document.querySelector(".chart-tooltip")?.textContent).toBe("Dec 4 17:00 UTC, #1: picked up in 42 s");
    // WHEN Home THEN the first
    fireEvent.keyDown(image, { key: "Home" });
    expect(document.querySelector(".chart-tooltip")?.textContent).toBe("Dec 1 09:00 UTC, #4: picked up in 1 min 1 s");
    fireEvent.blur(image);
    // WHEN the pointer is over the second point THEN its latency
    fireEvent.mouseEnter(document.querySelectorAll("circle.latency-point")[1]);
    expect(document.querySelector(".chart-tooltip")?.textContent).toBe("Dec 3 09:00 UTC, #3: picked up in 30 s");
  });

  it("reads a span in words", () => {
    expect([0, 42, 60, 192, 3600, 7500].map(spanWords)).toEqual(["0 s", "42 s", "1 min", "3 min 12 s", "1 h", "2 h 5 min"]);
  });
});

describe("accessibility", () => {
  it("has nothing axe finds in either chart, nor in the empty one", async () => {
    // GIVEN both charts, and an empty latency chart WHEN axe runs THEN no violations
    const { container } = render(
      <>
        <SessionsPerDayChart sessions={SESSIONS} now={NOW} />
        <PickupLatencyChart sessions={[claimed("2026-12-04T09:00:00Z", 1, 600), claimed("2026-12-04T15:00:00Z", 2, 1200)]} />
        <PickupLatencyChart sessions={[]} />
      </>,
    );
    fireEvent.focus(screen.getAllByRole("img")[0]);
    expect((await axe.run(container, AXE_OPTIONS)).violations).toEqual([]);
  });
});
