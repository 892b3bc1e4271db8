/** How the dashboard says a moment: relative words ("3 min ago", "in 4 min"), with the exact UTC
 * time ("2026-12-04 18:15:42 UTC") as the element's title, so it shows on hover. */

/** A moment from the API (ISO 8601) or a Date, as a Date. */
function dateOf(at: string | Date): Date {
  return at instanceof Date ? at : new Date(at);
}

/** "2026-12-04 18:15:42 UTC": the moment in UTC to the second, whatever the API's precision. */
export function utc(at: string | Date): string {
  const date = dateOf(at);
  if (Number.isNaN(date.getTime())) return String(at);
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** How long ago (or how soon) a moment is from `now`, in the largest whole unit that fits:
 * "just now" (under 5 s), "40 s ago", "3 min ago", "2 h ago", "1 day ago", "3 days ago", "in 4 min". */
export function relative(at: string | Date, now: Date = new Date()): string {
  const ms = dateOf(at).getTime() - now.getTime();
  if (Number.isNaN(ms)) return String(at);
  const s = Math.floor(Math.abs(ms) / 1000);
  if (s < 5) return "just now";
  const span =
    s < MINUTE
      ? `${s} s`
      : s < HOUR
        ? `${Math.floor(s / MINUTE)} min`
        : s < DAY
          ? `${Math.floor(s / HOUR)} h`
          : Math.floor(s / DAY) === 1
            ? "1 day"
            : `${Math.floor(s / DAY)} days`;
  return ms < 0 ? `${span} ago` : `in ${span}`;
}

/** A moment as a `<time>`: relative words, the exact UTC time on hover, ISO 8601 as its dateTime. */
export function RelativeTime({ at, now }: { at: string | Date; now?: Date }) {
  const date = dateOf(at);
  const valid = !Number.isNaN(date.getTime());
  return (
    <time dateTime={valid ? date.toISOString().replace(/\.\d{3}Z$/, "Z") : undefined} title={utc(at)}>
      {relative(at, now)}
    </time>
  );
}
