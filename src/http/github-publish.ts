import type { Context } from "hono";
import { EVENT_TYPE_PATTERN } from "../domain/event-type.ts";
import {
  encodeGitHubEnvelope,
  GITHUB_ENVELOPE_CONTENT_TYPE,
  GITHUB_EXTRA_METADATA,
} from "../domain/github-envelope.ts";
import { type GitHubSecretRule, githubSecretsFor, verifyGitHubSignature } from "../domain/github-signature.ts";
import type { TopicNamespace } from "../domain/topic-name.ts";
import { badRequest, ProblemError } from "./problem.ts";

/**
 * Hookbot's GitHub features on publish: a topic guarded by a GitHub secret (the config file's
 * github.secrets) takes only bodies GitHub signed, and `?extra-metadata=github` stores Hookbot's
 * JSON envelope of the webhook's headers and body instead of the body alone.
 */

export type GitHubPublishDeps = { githubSecrets?: readonly GitHubSecretRule[] };

export type StoredBody = { body: Uint8Array; contentType: string | undefined; defaultType: string | undefined };

export async function applyGitHubPublishRules(
  c: Context,
  deps: GitHubPublishDeps,
  event: { topic: string; namespace: TopicNamespace; body: Uint8Array; contentType: string | undefined },
): Promise<StoredBody> {
  const extraMetadata = c.req.query("extra-metadata");
  if (extraMetadata !== undefined && extraMetadata !== GITHUB_EXTRA_METADATA) {
    throw badRequest(
      `?extra-metadata= must be "${GITHUB_EXTRA_METADATA}" (store a GitHub webhook as Hookbot's JSON envelope), or left out.`,
      {
        field: "extra-metadata",
        accepted: [GITHUB_EXTRA_METADATA],
      },
    );
  }
  // Guarding the topic, not only ?extra-metadata=github: otherwise a forged envelope sent without it would reach the routers.
  const secrets = githubSecretsFor(deps.githubSecrets ?? [], event.namespace, event.topic);
  if (secrets.length > 0) {
    const check = await verifyGitHubSignature(secrets, event.body, {
      sha256: c.req.header("x-hub-signature-256"),
      sha1: c.req.header("x-hub-signature"),
    });
    if (!check.valid) {
      throw new ProblemError({
        status: 403,
        kind: "github-signature",
        title: check.reason === "missing" ? "The GitHub signature is missing" : "The GitHub signature does not match",
        detail: check.reason === "missing"
          ? "This topic is guarded by a GitHub webhook secret: send X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body under the secret>, as GitHub does when the webhook has that secret. Nothing was stored."
          : `${check.header} does not match the body under the GitHub secret configured for this topic. Set the same secret on the GitHub webhook as in the config file's github.secrets, and send the body unchanged. Nothing was stored.`,
      });
    }
  }
  if (extraMetadata === undefined) return { body: event.body, contentType: event.contentType, defaultType: undefined };
  const githubEvent = c.req.header("x-github-event") ?? "";
  return {
    body: encodeGitHubEnvelope({
      delivery: c.req.header("x-github-delivery") ?? "",
      event: githubEvent,
      signature: c.req.header("x-hub-signature") ?? "",
      payload: event.body,
    }),
    contentType: GITHUB_ENVELOPE_CONTENT_TYPE,
    // Subscribers of an org-wide topic can then pick events by GitHub's name for them (push, pull_request, …).
    defaultType: EVENT_TYPE_PATTERN.test(githubEvent) ? githubEvent : undefined,
  };
}
