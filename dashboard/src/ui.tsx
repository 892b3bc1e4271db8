import { useEffect, useId, useRef, useState, type KeyboardEvent, type ReactNode } from "react";
import { RelativeTime } from "./time";

/** A moment as relative time ("3 min ago"), the UTC time on hover (time.tsx); `never` (or what is given) without one. */
export function When({ at, now, never = "never" }: { at: string | null | undefined; now?: Date; never?: string }) {
  if (!at) return <>{never}</>;
  return <RelativeTime at={at} now={now} />;
}

/** A modal dialog: labelled, focus moves in, Escape closes, focus goes back where it was. With
 * `footer`, its content is a form of a `.dialog-body` that scrolls and a `.dialog-footer` always in view. */
export function Dialog({ title, onClose, children, footer }: { title: string; onClose: () => void; children: ReactNode; footer?: boolean }) {
  const titleId = useId();
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const first = box.current?.querySelector<HTMLElement>("input, select, textarea, button");
    first?.focus();
    return () => before?.focus();
  }, []);
  const onKey = (e: KeyboardEvent) => {
    if (e.key === "Escape") onClose();
    if (e.key === "Tab" && box.current) {
      const focusable = [...box.current.querySelectorAll<HTMLElement>("input, select, textarea, button, a[href]")].filter((el) => !el.hasAttribute("disabled"));
      const [first, last] = [focusable[0], focusable[focusable.length - 1]];
      if (e.shiftKey && document.activeElement === first) {
        last?.focus();
        e.preventDefault();
      } else if (!e.shiftKey && document.activeElement === last) {
        first?.focus();
        e.preventDefault();
      }
    }
  };
  return (
    <div className="backdrop">
      <div className={footer ? "dialog with-footer" : "dialog"} role="dialog" aria-modal="true" aria-labelledby={titleId} ref={box} onKeyDown={onKey}>
        <h2 id={titleId}>{title}</h2>
        {children}
      </div>
    </div>
  );
}

/** Labels as chips: type one and press Enter (or a comma) to add it; each chip has a remove button. */
export function ChipsInput({ label, values, onChange, placeholder, error, help }: { label: string; values: string[]; onChange: (v: string[]) => void; placeholder?: string; error?: string; help?: ReactNode }) {
  const id = useId();
  const [draft, setDraft] = useState("");
  const add = () => {
    const value = draft.trim();
    if (value && !values.includes(value)) onChange([...values, value]);
    setDraft("");
  };
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <ul className="chips" aria-label={`${label}, added`}>
        {values.map((v) => (
          <li key={v} className="chip">
            {v}
            <button type="button" aria-label={`remove ${v}`} onClick={() => onChange(values.filter((x) => x !== v))}>
              ×
            </button>
          </li>
        ))}
      </ul>
      <input
        id={id}
        value={draft}
        placeholder={placeholder}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : help ? `${id}-help` : undefined}
        onChange={(e) => setDraft(e.target.value)}
        onBlur={add}
        onKeyDown={(e) => {
          if (e.key === "Enter" || e.key === ",") {
            e.preventDefault();
            add();
          } else if (e.key === "Backspace" && !draft && values.length) {
            onChange(values.slice(0, -1));
          }
        }}
      />
      {help && !error && <p className="help" id={`${id}-help`}>{help}</p>}
      {error && <p className="error" id={`${id}-error`}>{error}</p>}
    </div>
  );
}

export function TextField({ label, value, onChange, error, help, placeholder, type = "text", required }: { label: string; value: string; onChange: (v: string) => void; error?: string; help?: ReactNode; placeholder?: string; type?: string; required?: boolean }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type={type}
        value={value}
        placeholder={placeholder}
        required={required}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : help ? `${id}-help` : undefined}
        onChange={(e) => onChange(e.target.value)}
      />
      {help && !error && <p className="help" id={`${id}-help`}>{help}</p>}
      {error && <p className="error" id={`${id}-error`}>{error}</p>}
    </div>
  );
}

export function Switch({ label, checked, onChange, info }: { label: string; checked: boolean; onChange: (v: boolean) => void; info?: string }) {
  const id = useId();
  return (
    <div className="field switch-field">
      <button id={id} type="button" role="switch" aria-checked={checked} className={checked ? "switch on" : "switch"} onClick={() => onChange(!checked)}>
        <span className="knob" aria-hidden="true" />
      </button>
      <label htmlFor={id}>{label}</label>
      {info && <Info text={info} />}
    </div>
  );
}

/** An info icon: a button that shows (and says) what it explains, for keyboard and touch too. */
function Info({ text }: { text: string }) {
  const [open, setOpen] = useState(false);
  const id = useId();
  return (
    <>
      <button type="button" className="info" aria-label="what enabling does" aria-expanded={open} aria-controls={id} title={text} onClick={() => setOpen(!open)}>
        i
      </button>
      <p id={id} className="help info-text" hidden={!open}>
        {text}
      </p>
    </>
  );
}

/** Re-renders every second: for countdowns and "updated N s ago". */
export function useNow(intervalMs = 1000): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const timer = setInterval(() => setNow(new Date()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

export type Tab = { id: string; label: string };

/** Tabs as WAI-ARIA's pattern has them: a tablist whose selected tab alone is in the Tab order,
 * the arrow keys (and Home, End) moving to the previous or next tab and selecting it. Each tab
 * controls the panel `tabpanel-<id>`, which the caller renders (labelled by `tab-<id>`). */
export function Tabs({ label, tabs, selected, onSelect }: { label: string; tabs: Tab[]; selected: string; onSelect: (id: string) => void }) {
  const list = useRef<HTMLDivElement>(null);
  const move = (e: KeyboardEvent, index: number) => {
    const last = tabs.length - 1;
    const next = e.key === "ArrowRight" ? (index === last ? 0 : index + 1) : e.key === "ArrowLeft" ? (index === 0 ? last : index - 1) : e.key === "Home" ? 0 : e.key === "End" ? last : null;
    if (next === null) return;
    e.preventDefault();
    onSelect(tabs[next].id);
    list.current?.querySelector<HTMLElement>(`#tab-${tabs[next].id}`)?.focus();
  };
  return (
    <div className="tabs" role="tablist" aria-label={label} ref={list}>
      {tabs.map((tab, i) => (
        <button
          key={tab.id}
          id={`tab-${tab.id}`}
          type="button"
          role="tab"
          aria-selected={tab.id === selected}
          aria-controls={`tabpanel-${tab.id}`}
          tabIndex={tab.id === selected ? 0 : -1}
          onClick={() => onSelect(tab.id)}
          onKeyDown={(e) => move(e, i)}
        >
          {tab.label}
        </button>
      ))}
    </div>
  );
}
