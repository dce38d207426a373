import { decodeGitHubEnvelope, GitHubEnvelopeError } from "./github-envelope.ts";
import { goJsonObject } from "./go-json.ts";
import { parseTopic, TopicNameError } from "./topic-name.ts";

/**
 * Hookbot's GitHub router (sensiblecodeio/hookbot, pkg/router/github/github.go, Router.Route), as
 * a pure rule. It reads messages stored with ?extra-metadata=github from an org-wide topic, and
 * republishes each push to github.com/repo/<owner>/<repo>/branch/<branch> as Go marshals a
 * map[string]string: {"Branch","Repo","SHA","Type","Who"}. Like Hookbot:
 * - Branch is the ref without "refs/heads/", so a tag push goes to …/branch/refs/tags/<tag>;
 * - SHA is the payload's "after", so a deleted branch is announced with forty zeros;
 * - Type is the X-GitHub-Event from the envelope (a top-level "type" in the payload overrides it,
 *   because Hookbot's Event struct has an untagged Type field);
 * - Who is pusher.name, or "<unknown>" when the payload has no pusher;
 * - anything that isn't a push, or has no repository.full_name, is dropped.
 */

/** A message a router reads: the topic it was published to and its stored body. */
export type RouterInput = { topic: string; body: Uint8Array };

/** A message a router publishes. `type` becomes the hookd event type subscribers can filter on. */
export type RoutedMessage = { topic: string; body: Uint8Array; contentType: string; type?: string };

/** What a rule made of one message; `ignored` says why nothing came of it, for the log. */
export type RouterDecision = { messages: RoutedMessage[]; ignored?: string };

export const GITHUB_ROUTED_TOPIC_PREFIX = "github.com/repo/";

class GoUnmarshalError extends Error {}

type PushFields = { type: string; fullName: string | null; pusherName: string | null; ref: string; after: string };

/** Go's json.Unmarshal into a string field: null keeps the zero value, another type is an error. */
function goString(value: unknown, name: string, current: string): string {
  if (value === null) return current;
  if (typeof value !== "string") throw new GoUnmarshalError(`${name} is not a string`);
  return value;
}

/** The fields of one object, matched the way Go matches JSON keys to struct fields: case-insensitively. */
function goFields(value: unknown, name: string): [string, unknown][] | null {
  if (value === null) return null;
  if (typeof value !== "object" || Array.isArray(value)) throw new GoUnmarshalError(`${name} is not an object`);
  return Object.entries(value).map(([key, field]) => [key.toLowerCase(), field]);
}

/** A *struct of string fields: null gives nil (every field undefined), an object fills the named fields. */
function readStruct<K extends string>(
  value: unknown,
  name: string,
  zero: Record<K, string>,
): Partial<Record<K, string>> {
  const fields = goFields(value, name);
  if (fields === null) return {};
  const struct = { ...zero };
  for (const [key, field] of fields) {
    if (Object.hasOwn(zero, key)) struct[key as K] = goString(field, `${name}.${key}`, struct[key as K]);
  }
  return struct;
}

/** The payload as Hookbot's Event struct reads it. */
function readPush(payload: Uint8Array, event: string): PushFields {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    throw new GoUnmarshalError("the payload is not JSON");
  }
  const push: PushFields = { type: event, fullName: null, pusherName: null, ref: "", after: "" };
  for (const [key, value] of goFields(parsed, "the payload") ?? []) {
    if (key === "type") push.type = goString(value, "type", push.type);
    else if (key === "ref") push.ref = goString(value, "ref", push.ref);
    else if (key === "after") push.after = goString(value, "after", push.after);
    else if (key === "before") goString(value, "before", "");
    else if (key === "repository") push.fullName = readStruct(value, "repository", { full_name: "" }).full_name ?? null;
    else if (key === "pusher") push.pusherName = readStruct(value, "pusher", { name: "", email: "" }).name ?? null;
  }
  return push;
}

export function routeGitHubPush(input: RouterInput): RouterDecision {
  let push: PushFields;
  try {
    const webhook = decodeGitHubEnvelope(input.body);
    if (webhook.payload === null) {
      return { messages: [], ignored: "the envelope has no Payload (was it published with ?extra-metadata=github?)" };
    }
    push = readPush(webhook.payload, webhook.event);
  } catch (error) {
    if (error instanceof GitHubEnvelopeError || error instanceof GoUnmarshalError) {
      return { messages: [], ignored: `not a GitHub envelope from ?extra-metadata=github: ${error.message}` };
    }
    throw error;
  }
  if (!push.fullName) {
    return { messages: [], ignored: `no repository.full_name in the ${push.type || "untyped"} event` };
  }
  if (push.type !== "push") return { messages: [], ignored: `a ${push.type || "untyped"} event, not a push` };

  const branch = push.ref.startsWith("refs/heads/") ? push.ref.slice("refs/heads/".length) : push.ref;
  const topic = `${GITHUB_ROUTED_TOPIC_PREFIX}${push.fullName}/branch/${branch}`;
  try {
    parseTopic(topic);
  } catch (error) {
    // Hookbot would publish to any string; a hookd topic must be a valid path (no empty branch, no "//").
    if (error instanceof TopicNameError) {
      return { messages: [], ignored: `"${topic}" is not a valid topic: ${error.message}` };
    }
    throw error;
  }
  const body = goJsonObject({
    Type: push.type,
    Repo: push.fullName,
    Branch: branch,
    SHA: push.after,
    Who: push.pusherName ?? "<unknown>",
  });
  return { messages: [{ topic, body: new TextEncoder().encode(body), contentType: "application/json", type: "push" }] };
}
