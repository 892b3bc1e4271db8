/** The project's charts, drawn with visx (SVG, so axe and jsdom read them): sessions started per
 * day, and pickup latency over time. Each is a figure with a caption, an SVG image whose label
 * sums the numbers up, both axes, and a tooltip on hover and on keyboard focus (arrow keys move
 * from bar to bar or point to point; the tooltip's words are also said to screen readers). */
import { AxisBottom, AxisLeft } from "@visx/axis";
import { GridRows } from "@visx/grid";
import { Group } from "@visx/group";
import { scaleBand, scaleLinear, scaleUtc } from "@visx/scale";
import { Bar } from "@visx/shape";
import { Tooltip, useTooltip } from "@visx/tooltip";
import { memo, useCallback, useMemo, useRef, useState, type KeyboardEvent, type ReactNode, type RefCallback } from "react";
import type { components } from "./api-types";
import "./charts.css";

type Session = components["schemas"]["SessionView"];

// The width follows the chart's box (a ResizeObserver) between these; 460 until measured (and in jsdom).
const WIDTH = 460;
const MIN_WIDTH = 320;
const MAX_WIDTH = 720;
const HEIGHT = 200;
const MARGIN = { top: 12, right: 16, bottom: 28, left: 52 };
const INNER_HEIGHT = HEIGHT - MARGIN.top - MARGIN.bottom;
const DAY_MS = 86_400_000;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const AXIS_LABEL = { fill: "#57606a", fontSize: 11, fontFamily: "system-ui, sans-serif" } as const;

/** "Dec 4": a UTC day in words. */
function dayWords(ms: number): string {
  const d = new Date(ms);
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}`;
}

/** "Dec 4 18:15 UTC": a moment in words, to the minute. */
function momentWords(ms: number): string {
  return `${dayWords(ms)} ${new Date(ms).toISOString().slice(11, 16)} UTC`;
}

/** "42 s", "3 min 12 s", "2 h 5 min": a span in words. */
export function spanWords(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return s % 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s / 60} min`;
  const m = Math.floor(s / 60);
  return m % 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m / 60} h`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;
}

/** The width a chart has to draw in: its box's, kept between MIN_WIDTH and MAX_WIDTH. */
function useWidth(): [RefCallback<HTMLElement>, number] {
  const [width, setWidth] = useState(WIDTH);
  const observer = useRef<ResizeObserver | null>(null);
  const ref = useCallback((element: HTMLElement | null) => {
    observer.current?.disconnect();
    if (!element || typeof ResizeObserver === "undefined") return;
    const measure = (w: number) => {
      if (w > 0) setWidth(Math.max(MIN_WIDTH, Math.min(MAX_WIDTH, Math.floor(w))));
    };
    measure(element.clientWidth);
    observer.current = new ResizeObserver((entries) => measure(entries[0].contentRect.width));
    observer.current.observe(element);
  }, []);
  return [ref, width];
}

/** A bar or a point: where its tooltip goes (in the SVG's pixels) and what it says. */
type Mark = { left: number; top: number; words: string };

/** The frame both charts share: the figure, the SVG image (focusable: arrow keys move between marks), the tooltip. */
function Chart({ caption, summary, marks, width, box, children, extra }: { caption: string; summary: string; marks: Mark[]; width: number; box: RefCallback<HTMLElement>; children: (hover: (i: number | null) => void, active: number | null) => ReactNode; extra?: ReactNode }) {
  const { tooltipOpen, tooltipData, tooltipLeft, tooltipTop, showTooltip, hideTooltip } = useTooltip<number>();
  const [focused, setFocused] = useState<number | null>(null);
  const show = (i: number) => showTooltip({ tooltipData: i, tooltipLeft: marks[i].left, tooltipTop: marks[i].top });
  const hover = (i: number | null) => {
    if (i !== null) show(i);
    else if (focused !== null) show(focused);
    else hideTooltip();
  };
  const move = (e: KeyboardEvent) => {
    const last = marks.length - 1;
    const at = focused ?? last;
    const to = { ArrowLeft: at - 1, ArrowRight: at + 1, ArrowDown: at - 1, ArrowUp: at + 1, Home: 0, End: last }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    const i = Math.min(last, Math.max(0, to));
    setFocused(i);
    show(i);
  };
  const open = tooltipOpen && tooltipData !== undefined && tooltipData < marks.length;
  return (
    <figure className="chart">
      <figcaption>{caption}</figcaption>
      <div className="chart-area" ref={box}>
        <svg
          role="img"
          aria-label={summary}
          width={width}
          height={HEIGHT}
          viewBox={`0 0 ${width} ${HEIGHT}`}
          tabIndex={0}
          onFocus={() => {
            const i = focused ?? marks.length - 1;
            setFocused(i);
            show(i);
          }}
          onBlur={() => {
            setFocused(null);
            hideTooltip();
          }}
          onKeyDown={move}
        >
          {children(hover, open ? tooltipData : null)}
        </svg>
        {open && (
          <Tooltip unstyled applyPositionStyle className="chart-tooltip" left={tooltipLeft} top={tooltipTop} offsetLeft={0} offsetTop={0}>
            {marks[tooltipData].words}
          </Tooltip>
        )}
      </div>
      <p className="visually-hidden" aria-live="polite">
        {focused !== null && focused < marks.length ? marks[focused].words : ""}
      </p>
      {extra}
    </figure>
  );
}

/** Sessions claimed on each of the last `days` UTC days, oldest first; a day without any is there, as 0. */
export function sessionsPerDay(sessions: Session[], now: Date, days = 14): { day: number; count: number }[] {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const first = today - (days - 1) * DAY_MS;
  const counts = new Array<number>(days).fill(0);
  for (const s of sessions) {
    const i = Math.floor((Date.parse(s.claimedAt) - first) / DAY_MS);
    if (i >= 0 && i < days) counts[i] += 1;
  }
  return counts.map((count, i) => ({ day: first + i * DAY_MS, count }));
}

/** Sessions started per day (by the claim's UTC day), the last `days` days: one bar a day, a zero day a grey tick on the baseline. */
export function SessionsPerDayChart({ sessions, now, days = 14 }: { sessions: Session[]; now: Date; days?: number }) {
  const [box, width] = useWidth();
  const innerWidth = width - MARGIN.left - MARGIN.right;
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  // Recounted when the sessions or the UTC day change, not each second `now` does.
  const counts = useMemo(() => sessionsPerDay(sessions, new Date(today), days), [sessions, today, days]);
  const max = Math.max(1, ...counts.map((c) => c.count));
  const x = scaleBand<number>({ domain: counts.map((c) => c.day), range: [0, innerWidth], padding: 0.25 });
  const y = scaleLinear<number>({ domain: [0, max], range: [INNER_HEIGHT, 0], nice: true });
  const yTicks = y.ticks(Math.min(4, max)).filter(Number.isInteger);
  // Every day is labelled when there is room ("Nov 30" takes about 40 px), else every other day, today always.
  const xTicks = counts.map((c) => c.day).filter((_, i) => x.step() >= 44 || (days - 1 - i) % 2 === 0);
  const marks: Mark[] = counts.map((c) => ({
    left: MARGIN.left + (x(c.day) ?? 0) + x.bandwidth() / 2,
    top: MARGIN.top + y(c.count),
    words: `${dayWords(c.day)}: ${plural(c.count, "session")}`,
  }));
  const total = counts.reduce((sum, c) => sum + c.count, 0);
  const busiest = counts.reduce((a, b) => (b.count > a.count ? b : a), counts[0]);
  const zeros = counts.filter((c) => c.count === 0).length;
  const summary =
    total === 0
      ? `No sessions started in the last ${days} days.`
      : `${plural(total, "session")} started in the last ${days} days, ${dayWords(counts[0].day)} to ${dayWords(today)}: the most, ${busiest.count}, on ${dayWords(busiest.day)}; ${plural(zeros, "day")} with none.`;
  return (
    <Chart
      caption={`Sessions started per day, last ${days} days`}
      summary={summary}
      marks={marks}
      width={width}
      box={box}
      extra={
        <table className="visually-hidden">
          <caption>Sessions started per day, last {days} days (UTC)</caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col">Sessions</th>
            </tr>
          </thead>
          <tbody>
            {counts.map((c) => (
              <tr key={c.day}>
                <td>{dayWords(c.day)}</td>
                <td>{c.count}</td>
              </tr>
            ))}
          </tbody>
        </table>
      }
    >
      {(hover, active) => (
        <Group left={MARGIN.left} top={MARGIN.top}>
          <GridRows scale={y} width={innerWidth} tickValues={yTicks} stroke="#eaeef2" />
          {counts.map((c, i) => {
            const left = x(c.day) ?? 0;
            const zero = c.count === 0;
            const height = zero ? 2 : INNER_HEIGHT - y(c.count);
            return (
              <g key={c.day} onMouseEnter={() => hover(i)} onMouseLeave={() => hover(null)}>
                <rect className="chart-hit" x={left - (x.step() - x.bandwidth()) / 2} y={0} width={x.step()} height={INNER_HEIGHT} />
                <Bar
                  className={`${zero ? "bar-zero" : "bar"}${active === i ? " active" : ""}`}
                  data-day={new Date(c.day).toISOString().slice(0, 10)}
                  data-count={c.count}
                  x={left}
                  y={INNER_HEIGHT - height}
                  width={x.bandwidth()}
                  height={height}
                />
              </g>
            );
          })}
          <AxisLeft scale={y} tickValues={yTicks} tickFormat={(v) => String(v)} stroke="#8c959f" tickStroke="#8c959f" tickLabelProps={AXIS_LABEL} />
          <AxisBottom top={INNER_HEIGHT} scale={x} tickValues={xTicks} tickFormat={(d) => dayWords(Number(d))} stroke="#8c959f" tickStroke="#8c959f" tickLabelProps={AXIS_LABEL} />
        </Group>
      )}
    </Chart>
  );
}

/** A launched session's pickup latency in seconds (launch minus the update that matched), when known. */
export function pickupOf(session: Session): number | null {
  const seconds = session.pickupSeconds;
  return typeof seconds === "number" && Number.isFinite(seconds) ? seconds : null;
}

/** The p-th percentile (nearest rank) of sorted numbers. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** The y axis's unit for a largest latency: seconds up to 2 minutes, minutes up to 2 hours, else hours. */
function unitFor(maxSeconds: number): { per: number; words: string } {
  if (maxSeconds <= 120) return { per: 1, words: "s" };
  if (maxSeconds <= 7200) return { per: 60, words: "min" };
  return { per: 3600, words: "h" };
}

/** Pickup latency over time: one point per launched session with a known latency, at its claim time
 * (dots, no line: a line through hundreds of launches is noise). */
export function PickupLatencyChart({ sessions }: { sessions: Session[] }) {
  const points = useMemo(
    () =>
      sessions
        .flatMap((s) => {
          const seconds = pickupOf(s);
          return seconds === null ? [] : [{ at: Date.parse(s.claimedAt), seconds, name: s.identifier ?? `#${s.number}` }];
        })
        .sort((a, b) => a.at - b.at),
    [sessions],
  );
  if (points.length === 0) {
    return (
      <figure className="chart">
        <figcaption>Pickup latency</figcaption>
        <p className="chart-empty">No launched sessions yet</p>
      </figure>
    );
  }
  return <LatencyPlot points={points} />;
}

// Memoised: its points change with the sessions, not each time the page's clock ticks.
const LatencyPlot = memo(function LatencyPlot({ points }: { points: { at: number; seconds: number; name: string }[] }) {
  const [box, width] = useWidth();
  const innerWidth = width - MARGIN.left - MARGIN.right;
  const first = points[0].at;
  const last = points[points.length - 1].at;
  // A single moment still needs a span to draw on: an hour either side.
  const [from, to] = first === last ? [first - 3_600_000, last + 3_600_000] : [first, last];
  const sorted = points.map((p) => p.seconds).sort((a, b) => a - b);
  const unit = unitFor(sorted[sorted.length - 1]);
  const x = scaleUtc<number>({ domain: [new Date(from), new Date(to)], range: [0, innerWidth], nice: false });
  const y = scaleLinear<number>({ domain: [0, Math.max(1, sorted[sorted.length - 1] / unit.per)], range: [INNER_HEIGHT, 0], nice: true });
  const yTicks = y.ticks(4);
  const overDays = to - from > 2 * DAY_MS;
  const xTicks = x.ticks(Math.max(3, Math.floor(innerWidth / 70)));
  const marks: Mark[] = points.map((p) => ({
    left: MARGIN.left + x(new Date(p.at)),
    top: MARGIN.top + y(p.seconds / unit.per),
    words: `${momentWords(p.at)}, ${p.name}: picked up in ${spanWords(p.seconds)}`,
  }));
  const summary = `Pickup latency of ${plural(points.length, "launched session")}, ${momentWords(first)} to ${momentWords(last)}: median ${spanWords(percentile(sorted, 50))}, p95 ${spanWords(percentile(sorted, 95))}, the latest ${spanWords(points[points.length - 1].seconds)}.`;
  return (
    <Chart caption="Pickup latency" summary={summary} marks={marks} width={width} box={box}>
      {(hover, active) => (
        <Group left={MARGIN.left} top={MARGIN.top}>
          <GridRows scale={y} width={innerWidth} tickValues={yTicks} stroke="#eaeef2" />
          {points.map((p, i) => (
            <circle
              key={`${p.at}-${i}`}
              className={`latency-point${active === i ? " active" : ""}`}
              cx={x(new Date(p.at))}
              cy={y(p.seconds / unit.per)}
              r={active === i ? 5 : 3}
              onMouseEnter={() => hover(i)}
              onMouseLeave={() => hover(null)}
            />
          ))}
          <AxisLeft scale={y} tickValues={yTicks} tickFormat={(v) => `${Number(v)} ${unit.words}`} stroke="#8c959f" tickStroke="#8c959f" tickLabelProps={AXIS_LABEL} />
          <AxisBottom
            top={INNER_HEIGHT}
            scale={x}
            tickValues={xTicks}
            tickFormat={(d) => {
              const ms = d instanceof Date ? d.getTime() : Number(d);
              return overDays ? dayWords(ms) : new Date(ms).toISOString().slice(11, 16);
            }}
            stroke="#8c959f"
            tickStroke="#8c959f"
            tickLabelProps={AXIS_LABEL}
          />
        </Group>
      )}
    </Chart>
  );
});
