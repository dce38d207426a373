import { createRoute, z } from "@hono/zod-openapi";
import {
  type ApiApp,
  NO_TOKEN,
  problems,
  REQUEST_BODY_COMPONENTS,
  SECURITY_SCHEMES,
  TOKEN_REQUIRED,
} from "./api-docs.ts";
import { NoQuerySchema, query } from "./query.ts";

/**
 * The OpenAPI 3.1 document for hookd's HTTP API. Every route is defined with @hono/zod-openapi
 * (app.openapi, or registerPath beside a route whose path the library cannot route, such as
 * /pub/*), so the document is the routes' own registry: what is assembled here is only the part
 * no route owns (info, servers, security schemes).
 */

export const OPENAPI_PATH = "/api/v1/openapi.json";

export const openApiRoute = createRoute({
  method: "get",
  path: OPENAPI_PATH,
  operationId: "getOpenApiDocument",
  summary: "This document",
  tags: ["meta"],
  security: NO_TOKEN,
  middleware: [query(NoQuerySchema)] as const,
  responses: {
    200: {
      description: "OpenAPI 3.1",
      content: { "application/json": { schema: z.object({ openapi: z.string() }).passthrough() } },
    },
    ...problems({ 400: "A query parameter was given; it takes none" }),
  },
});

/** The document, drawn from the app's registry once every route is defined. */
export function openApiDocument(app: ApiApp): Record<string, unknown> {
  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES)) {
    app.openAPIRegistry.registerComponent("securitySchemes", name, scheme);
  }
  for (const [name, schema] of REQUEST_BODY_COMPONENTS) app.openAPIRegistry.register(name, schema);
  return app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "hookd",
      version: "0.1.0",
      description: "Durable, signed, retried webhook delivery and topic streams on NATS JetStream. " +
        "Tokens are per path: see docs/security.md.",
    },
    // Relative: the document describes the hookd that serves it, wherever that is.
    servers: [{ url: "/", description: "the hookd serving this document" }],
    security: TOKEN_REQUIRED,
  }) as unknown as Record<string, unknown>;
}
