import { call, type Flags } from "./api.ts";

/** `hookd subscriptions list | create | delete`: the REST Hooks API on the command line. */

export type SubscriptionFlags = Flags & {
  json?: boolean | undefined;
  topic?: string | undefined;
  dialect?: string | undefined;
  secret?: string | undefined;
  "event-type"?: string[] | undefined;
};

export async function listSubscriptions(values: SubscriptionFlags): Promise<number> {
  const query = values.topic ? `?topic=${encodeURIComponent(values.topic)}&limit=100` : "?limit=100";
  const result = await call(values, "GET", `/api/v1/subscriptions${query}`);
  if (!result.ok) return result.code;
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result.json, null, 2)}\n`);
    return 0;
  }
  // Silence would look like a failure, or like a command that never reached hookd.
  if (result.json.data.length === 0) {
    process.stdout.write(values.topic ? `no subscriptions for topic ${values.topic}\n` : "no subscriptions\n");
  }
  for (const s of result.json.data) {
    const status = s.status_message ? `  (${s.status_message})` : "";
    process.stdout.write(`${s.id}  ${s.state.padEnd(12)} ${s.topic}  →  ${s.url}${status}\n`);
  }
  return 0;
}

export async function createSubscription(topic: string, url: string, values: SubscriptionFlags): Promise<number> {
  const body = {
    topic,
    url,
    ...(values.dialect ? { dialect: values.dialect } : {}),
    ...(values.secret ? { secret: values.secret } : {}),
    ...(values["event-type"] ? { event_types: values["event-type"] } : {}),
  };
  const headers = { "content-type": "application/json" };
  const result = await call(values, "POST", "/api/v1/subscriptions", { body: JSON.stringify(body), headers });
  if (!result.ok) return result.code;
  process.stdout.write(`${result.json.id}  ${result.json.state}  ${result.json.topic}  →  ${result.json.url}\n`);
  if (result.json.secret) process.stdout.write(`secret (shown once): ${result.json.secret}\n`);
  return 0;
}

export async function deleteSubscription(id: string, values: Flags): Promise<number> {
  const result = await call(values, "DELETE", `/api/v1/subscriptions/${encodeURIComponent(id)}`);
  if (!result.ok) return result.code;
  process.stdout.write(`${id} unsubscribed\n`);
  return 0;
}
