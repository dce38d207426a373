/** Renders a delivery view (GET /api/v1/deliveries/<id>) as a readable timeline for a terminal. */

type HistoryEntry = { seq: number; type: string; at: string; state: string; data: Record<string, unknown> };
type View = {
  id: string;
  state: string;
  target: string;
  method: string;
  attempts_made: number;
  max_attempts: number;
  next_attempt_at: string | null;
  failure_reason: string | null;
  signed: boolean;
  history: HistoryEntry[];
};

function describe(entry: HistoryEntry): string {
  const data = entry.data;
  switch (entry.type) {
    case "delivery.created": {
      const request = data.request as { method: string; url: string; body_bytes: number };
      return `${request.method} ${request.url} (${request.body_bytes} bytes, ${data.signed ? "signed" : "unsigned"})`;
    }
    case "attempt.started":
      return `attempt ${data.attempt}${data.worker ? ` by ${data.worker}` : ""}`;
    case "attempt.succeeded":
    case "attempt.failed": {
      const response = data.response as { status: number } | undefined;
      const outcome = response ? `HTTP ${response.status}` : String(data.error ?? "error");
      let line = `attempt ${data.attempt}: ${outcome} in ${data.latency_ms}ms`;
      if (entry.type === "attempt.failed") {
        if (data.permanent) line += ` (permanent: ${data.error})`;
        else if (entry.state === "backoff") line += `; next attempt at ${data.retry_at}`;
        else if (response) line += ` (${data.error})`;
      }
      return line;
    }
    default:
      return "";
  }
}

export function formatTimeline(view: View): string {
  const lines = [
    `${view.id}  ${view.method} ${view.target}`,
    `state: ${view.state}   attempts: ${view.attempts_made}/${view.max_attempts}${
      view.failure_reason ? `   gave up: ${view.failure_reason}` : ""
    }${view.next_attempt_at ? `   next attempt: ${view.next_attempt_at}` : ""}`,
    "",
  ];
  const typeWidth = Math.max(...view.history.map((entry) => entry.type.length));
  const stateWidth = Math.max(...view.history.map((entry) => entry.state.length));
  for (const entry of view.history) {
    lines.push(
      `${entry.at}  #${String(entry.seq).padEnd(6)} ${entry.type.padEnd(typeWidth)}  → ${
        entry.state.padEnd(stateWidth)
      }  ${describe(entry)}`.trimEnd(),
    );
  }
  return lines.join("\n");
}
