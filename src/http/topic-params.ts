import type { Context } from "hono";
import { parseTopic, TopicNameError, type TopicPattern } from "../domain/topic-name.ts";
import { badRequest } from "./problem.ts";

/**
 * Topics as requests carry them, checked with a 400 that says what is wrong. `recursive` admits a
 * trailing "/" (every topic below it), which reading allows and publishing does not.
 */

export function topicOr400(text: string, field: string, options: { recursive?: boolean } = {}): TopicPattern {
  try {
    return parseTopic(text, { allowRecursive: options.recursive });
  } catch (error) {
    if (!(error instanceof TopicNameError)) throw error;
    const hint = options.recursive
      ? `Topics are "/"-separated paths; end one in "/" to read every topic below it.`
      : `Topics are "/"-separated paths such as github.com/org/repo.`;
    throw badRequest(`"${field}" is not a valid topic: ${error.message}. ${hint}`, { field });
  }
}

/** The topic in the path after `prefix`, each segment percent-decoded (from the raw path: Hono's c.req.path may already be decoded). */
export function topicInPath(c: Context, prefix: string, options: { recursive?: boolean } = {}): TopicPattern {
  const raw = new URL(c.req.url).pathname.slice(prefix.length);
  let text: string;
  try {
    text = raw.split("/").map(decodeURIComponent).join("/");
  } catch {
    throw badRequest("The topic in the path is not valid percent-encoding.", { field: "topic" });
  }
  return topicOr400(text, "topic", options);
}
