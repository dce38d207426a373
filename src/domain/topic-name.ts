/**
 * Topics are "/"-separated paths (Hookbot style: "github.com/org/repo"). A NATS token can't hold
 * ".", "*", ">" or whitespace, so each segment is encoded reversibly: letters, digits and "-" stay,
 * every other UTF-8 byte becomes "_" and two hex digits ("github.com" → "github_2Ecom"). A topic
 * ending in "/" names everything below it, which maps to the NATS wildcard ">".
 */

export const MAX_TOPIC_LENGTH = 256;
const SAFE = /^[A-Za-z0-9-]$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Where a topic lives: Hookbot's /unsafe/ topics get their own namespace so they never mix with safe ones. */
export type TopicNamespace = "safe" | "unsafe";

export type TopicPattern = { topic: string; recursive: boolean };

export class TopicNameError extends Error {}

/** Checks a topic and says what is wrong with it; `allowRecursive` admits a trailing "/" (subscriptions). */
export function parseTopic(text: string, options: { allowRecursive?: boolean } = {}): TopicPattern {
  if (text.length === 0) throw new TopicNameError("the topic is empty");
  if (text.length > MAX_TOPIC_LENGTH) {
    throw new TopicNameError(`the topic is longer than ${MAX_TOPIC_LENGTH} characters`);
  }
  // deno-lint-ignore no-control-regex -- finding control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(text)) throw new TopicNameError("the topic contains a control character");
  const recursive = text.endsWith("/");
  if (recursive && !options.allowRecursive) {
    throw new TopicNameError(`a topic to publish to can't end in "/" (that names every topic below it)`);
  }
  const body = recursive ? text.slice(0, -1) : text;
  if (body.startsWith("/")) throw new TopicNameError(`the topic can't start with "/"`);
  if (body.split("/").some((segment) => segment === "")) {
    throw new TopicNameError(`the topic has an empty segment ("//")`);
  }
  // URLs resolve these, so /sub/a/../b and the topic a/../b would name different things.
  if (body.split("/").some((segment) => segment === "." || segment === "..")) {
    throw new TopicNameError(`the topic has a "." or ".." segment`);
  }
  return { topic: body, recursive };
}

export function encodeSegment(segment: string): string {
  let out = "";
  for (const char of segment) {
    if (SAFE.test(char)) out += char;
    else for (const byte of encoder.encode(char)) out += "_" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

export function decodeSegment(token: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    const char = token[i]!;
    if (char === "_") {
      const hex = token.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) throw new TopicNameError(`"${token}" is not an encoded topic segment`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (SAFE.test(char)) {
      bytes.push(char.charCodeAt(0));
    } else {
      throw new TopicNameError(`"${token}" is not an encoded topic segment`);
    }
  }
  return decoder.decode(new Uint8Array(bytes));
}

/** A pattern as users write it: the topic, with a trailing "/" when it takes every topic below. */
export function patternText(pattern: TopicPattern): string {
  return pattern.recursive ? `${pattern.topic}/` : pattern.topic;
}

/** A topic as NATS subject tokens, one encoded segment each (where they go in a subject is the JetStream layout's). */
export function topicTokens(topic: string): string[] {
  return topic.split("/").map(encodeSegment);
}

/** The topic that `topicTokens` made these tokens from. */
export function topicOfTokens(tokens: readonly string[]): string {
  return tokens.map(decodeSegment).join("/");
}

/** Whether a topic falls under a pattern: the same topic, or below it for a recursive pattern. */
export function topicMatches(pattern: TopicPattern, topic: string): boolean {
  return pattern.recursive ? topic.startsWith(pattern.topic + "/") : topic === pattern.topic;
}
