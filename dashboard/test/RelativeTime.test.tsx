import axe from "axe-core";
import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { relative, RelativeTime, utc } from "../src/time";

afterEach(cleanup);

const NOW = new Date("2026-12-04T18:15:42Z");

/** `now` moved by `seconds` (negative: the past). */
function from(seconds: number): Date {
  return new Date(NOW.getTime() + seconds * 1000);
}

describe("a moment in relative words", () => {
  it("says just now within a few seconds either way", () => {
    // GIVEN moments 0, 3 s before and 4 s after now WHEN said relatively THEN "just now"
    expect([0, -3, 4].map((s) => relative(from(s), NOW))).toEqual(["just now", "just now", "just now"]);
  });

  it("counts seconds, minutes, hours and days in the past, in the largest whole unit", () => {
    // GIVEN moments in the past WHEN said relatively THEN the largest whole unit that fits
    const said = [-40, -59, -60, -3 * 60 - 30, -2 * 3600, -24 * 3600, -3 * 24 * 3600 - 7200].map((s) => relative(from(s), NOW));
    expect(said).toEqual(["40 s ago", "59 s ago", "1 min ago", "3 min ago", "2 h ago", "1 day ago", "3 days ago"]);
  });

  it("says in how long for the future", () => {
    // GIVEN moments after now WHEN said relatively THEN "in ..."
    expect([30, 4 * 60, 5 * 3600, 2 * 24 * 3600].map((s) => relative(from(s), NOW))).toEqual(["in 30 s", "in 4 min", "in 5 h", "in 2 days"]);
  });

  it("reads the API's ISO strings, with microseconds or an offset", () => {
    // GIVEN the API's precision and another offset WHEN said relatively THEN the same as the Date
    expect(relative("2026-12-04T18:12:41.500000Z", NOW)).toBe("3 min ago");
    expect(relative("2026-12-04T19:15:42+01:00", NOW)).toBe("just now");
  });
});

describe("a moment in UTC", () => {
  it("is the date and the time to the second, then UTC", () => {
    // GIVEN a moment from the API, with microseconds, or in another offset WHEN given in UTC
    // THEN "YYYY-MM-DD HH:MM:SS UTC"
    expect(utc("2026-12-04T18:15:42.999999Z")).toBe("2026-12-04 18:15:42 UTC");
    expect(utc("2026-12-04T19:15:42+01:00")).toBe("2026-12-04 18:15:42 UTC");
    expect(utc(NOW)).toBe("2026-12-04 18:15:42 UTC");
  });
});

describe("RelativeTime", () => {
  it("is a time element: relative words, the exact UTC time on hover, ISO as its dateTime", () => {
    // GIVEN a moment three minutes before now WHEN it is shown
    render(<RelativeTime at="2026-12-04T18:12:42.000000Z" now={NOW} />);
    // THEN it reads "3 min ago" and holds the exact time
    const time = screen.getByText("3 min ago");
    expect(time.tagName).toBe("TIME");
    expect(time.getAttribute("dateTime")).toBe("2026-12-04T18:12:42Z");
    expect(time.getAttribute("title")).toBe("2026-12-04 18:12:42 UTC");
  });

  it("says the future as in how long", () => {
    // GIVEN a moment four minutes ahead WHEN it is shown THEN "in 4 min", the UTC time on hover
    render(<RelativeTime at={from(4 * 60)} now={NOW} />);
    expect(screen.getByText("in 4 min").getAttribute("title")).toBe("2026-12-04 18:19:42 UTC");
  });

  it("has nothing axe finds", async () => {
    // GIVEN a time in a paragraph WHEN axe runs THEN no violations
    const { container } = render(
      <p>
        claimed <RelativeTime at={from(-120)} now={NOW} />
      </p>,
    );
    const results = await axe.run(container, { rules: { "color-contrast": { enabled: false } } }); // no layout in jsdom
    expect(results.violations).toEqual([]);
  });
});
