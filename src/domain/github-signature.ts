import { constantTimeEqual, toHex, utf8 } from "./bytes.ts";
import { topicMatches, type TopicNamespace, type TopicPattern } from "./topic-name.ts";

/**
 * GitHub's webhook signatures: X-Hub-Signature-256 is "sha256=" and the hex HMAC-SHA256 of the
 * body, X-Hub-Signature the same with SHA-1, both keyed by the webhook's secret as UTF-8.
 */

export type GitHubSignatureHeaders = { sha256: string | undefined; sha1: string | undefined };

export type GitHubSignatureHeader = "X-Hub-Signature-256" | "X-Hub-Signature";

export type GitHubSignatureCheck =
  | { valid: true; header: GitHubSignatureHeader }
  | { valid: false; header: GitHubSignatureHeader; reason: "mismatch" }
  | { valid: false; header: null; reason: "missing" };

async function hmacHex(hash: "SHA-256" | "SHA-1", secret: string, body: Uint8Array): Promise<string> {
  const key = await crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash }, false, ["sign"]);
  return toHex(await crypto.subtle.sign("HMAC", key, body as Uint8Array<ArrayBuffer>));
}

/**
 * Checks the body against any of `secrets`. X-Hub-Signature-256 is preferred: when it is present
 * it alone decides, so a forger can't fall back to the weaker SHA-1 header by adding a bad SHA-256 one.
 */
export async function verifyGitHubSignature(
  secrets: readonly string[],
  body: Uint8Array,
  headers: GitHubSignatureHeaders,
): Promise<GitHubSignatureCheck> {
  const choice = headers.sha256
    ? ({ header: "X-Hub-Signature-256", prefix: "sha256=", hash: "SHA-256", value: headers.sha256 } as const)
    : headers.sha1
    ? ({ header: "X-Hub-Signature", prefix: "sha1=", hash: "SHA-1", value: headers.sha1 } as const)
    : null;
  if (choice === null) return { valid: false, header: null, reason: "missing" };
  const received = choice.value.trim().toLowerCase();
  let valid = false;
  // Every secret is tried, with no early exit, so the time taken does not tell which one matched.
  for (const secret of secrets) {
    if (constantTimeEqual(choice.prefix + (await hmacHex(choice.hash, secret, body)), received)) valid = true;
  }
  return valid ? { valid: true, header: choice.header } : { valid: false, header: choice.header, reason: "mismatch" };
}

/** One configured secret (an entry of the config file's github.secrets): it covers its topic, or every topic below it. */
export type GitHubSecretRule = { topic: TopicPattern & { namespace: TopicNamespace }; secret: string };

/**
 * The secrets that guard a topic: those of the most specific rule covering it (the topic itself
 * beats any prefix, a longer prefix beats a shorter one). Several rules with that same pattern all
 * apply, which is how a secret is rotated. Empty means the topic is not guarded.
 */
export function githubSecretsFor(
  rules: readonly GitHubSecretRule[],
  namespace: TopicNamespace,
  topic: string,
): string[] {
  const specificity = (
    rule: GitHubSecretRule,
  ) => (rule.topic.recursive ? rule.topic.topic.length : Number.POSITIVE_INFINITY);
  const covering = rules.filter((rule) => rule.topic.namespace === namespace && topicMatches(rule.topic, topic));
  if (covering.length === 0) return [];
  const best = Math.max(...covering.map(specificity));
  return covering.filter((rule) => specificity(rule) === best).map((rule) => rule.secret);
}
