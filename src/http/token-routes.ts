import { createRoute, z } from "@hono/zod-openapi";
import { RevocableTokens, TOKEN_ID_PATTERN } from "../domain/revocable-tokens.ts";
import { type ApiApp, AUTH_PROBLEMS, bodyRef, defineRoute, json, problems } from "./api-docs.ts";
import { readJsonBody } from "./json-body.ts";
import { badRequest, unprocessable } from "./problem.ts";
import { NoQuerySchema, query } from "./query.ts";

/**
 * POST /api/v1/tokens/revoke: revokes one revocable token (hkd1.…), given whole or by its id. Like any
 * route, it takes a token that grants its path, which in practice is the admin token (for "/").
 * Hookbot's tokens carry no id: they are refused here, and only a new key revokes them.
 */

export type TokenRouteDeps = {
  revocable: RevocableTokens;
  revocations: { revoke(id: string, record: { revoked_at: string; expires_at: string | null }): Promise<void> };
  clock: () => number;
};

export const RevokeTokenBodySchema = z.object({
  token: z.string().min(1).max(4096).describe("the token (hkd1.…) or its id (the part after hkd1.)"),
}).openapi("RevokeTokenRequest");

const RevokedTokenSchema = z.object({
  id: z.string(),
  revoked_at: z.string(),
  expires_at: z.string().nullable().describe("when the token would have expired anyway; null when it never would"),
}).openapi("RevokedToken");

const HOOKBOT_SHAPE = /^[0-9a-f]{40}$/i;

const revokeRoute = createRoute({
  method: "post",
  path: "/api/v1/tokens/revoke",
  operationId: "revokeToken",
  summary: "Revoke one revocable token on every instance",
  tags: ["tokens"],
  middleware: [query(NoQuerySchema)] as const,
  request: {
    body: {
      required: true,
      content: { "application/json": { schema: bodyRef("RevokeTokenRequest", RevokeTokenBodySchema) } },
    },
  },
  responses: {
    200: json(
      "Revoked (again, if it already was): every instance refuses it within about a second",
      RevokedTokenSchema,
    ),
    ...problems({
      400: "Not a token or token id",
      422: "A Hookbot token (no id: change the key to revoke it), or a token another key signed",
    }),
    ...AUTH_PROBLEMS,
  },
});

export function mountTokenRoutes(app: ApiApp, deps: TokenRouteDeps): void {
  defineRoute(app, revokeRoute, async (c) => {
    const { token } = await readJsonBody(c, RevokeTokenBodySchema);
    const { id, expiresAt } = await revocationTarget(deps.revocable, token.trim());
    const record = {
      revoked_at: new Date(deps.clock()).toISOString(),
      expires_at: expiresAt === null ? null : new Date(expiresAt).toISOString(),
    };
    await deps.revocations.revoke(id, record);
    return c.json({ id, ...record }, 200);
  });
}

async function revocationTarget(revocable: RevocableTokens, given: string) {
  if (HOOKBOT_SHAPE.test(given)) {
    throw unprocessable(
      "token-not-revocable",
      "This is a Hookbot-form token, which carries no id: only a new key (HOOKD_KEY) revokes it, with every other " +
        "token. Issue revocable tokens with hookd make-tokens --expires.",
    );
  }
  if (given.startsWith("hkd1.")) {
    const verified = await revocable.verify(given);
    if (!verified) {
      throw unprocessable("token-not-ours", "This token was not issued under this hookd's key, or was altered.");
    }
    return { id: verified.id, expiresAt: verified.expiresAt };
  }
  if (TOKEN_ID_PATTERN.test(given)) return { id: given, expiresAt: null };
  throw badRequest("token must be a revocable token (hkd1.…) or its id.", { field: "token" });
}
