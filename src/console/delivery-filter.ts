import { DELIVERY_STATES, type DeliveryState } from "../../actors/delivery.machine.ts";
import type { DeliveryFilter } from "./services.ts";

/**
 * The deliveries list's query string, both ways: read leniently (a value the list cannot use is left
 * out and said so, never a failed page) and written back for links that keep the filter.
 */

export type ListQuery = { filter: DeliveryFilter; cursor: string | null; ignored: string[] };

const FIELDS = ["state", "host", "subscription", "topic", "type", "since", "until", "q"] as const;

function time(value: string | undefined, name: string, ignored: string[]): number | undefined {
  if (!value) return undefined;
  // datetime-local sends no zone; the console treats it as UTC, and says so beside the field.
  const ms = Date.parse(/[zZ]|[+-]\d\d:\d\d$/.test(value) ? value : `${value}Z`);
  if (Number.isNaN(ms)) ignored.push(name);
  return Number.isNaN(ms) ? undefined : ms;
}

export function readListQuery(query: Record<string, string>): ListQuery {
  const ignored: string[] = [];
  const text = (name: string) => query[name]?.trim() || undefined;
  const state = text("state");
  if (state && !DELIVERY_STATES.includes(state as DeliveryState)) ignored.push("state");
  return {
    filter: {
      state: state && DELIVERY_STATES.includes(state as DeliveryState) ? state as DeliveryState : undefined,
      host: text("host")?.toLowerCase(),
      subscription: text("subscription"),
      topic: text("topic"),
      eventType: text("type"),
      since: time(text("since"), "since", ignored),
      until: time(text("until"), "until", ignored),
      search: text("q"),
    },
    cursor: text("cursor") ?? null,
    ignored,
  };
}

/** The query string for `query` with some fields replaced (undefined drops one). */
export function listQueryString(
  query: Record<string, string>,
  change: Record<string, string | undefined> = {},
): string {
  const params = new URLSearchParams();
  for (const name of [...FIELDS, "cursor"]) {
    const value = name in change ? change[name] : query[name];
    if (value) params.set(name, value);
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}
