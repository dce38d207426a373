import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** RFC 9457 problem details: every error a client sees says what went wrong and how to fix the request. */

export type ProblemInit = {
  status: ContentfulStatusCode;
  /** Short slug naming the kind of problem; becomes the `type` URI. */
  kind: string;
  title: string;
  detail: string;
  extra?: Record<string, unknown>;
  headers?: Record<string, string>;
};

export class ProblemError extends Error {
  constructor(readonly problem: ProblemInit) {
    super(problem.detail);
  }
}

export function problemResponse(c: Context, problem: ProblemInit): Response {
  const body = {
    type: `urn:hookd:problem:${problem.kind}`,
    title: problem.title,
    status: problem.status,
    detail: problem.detail,
    instance: new URL(c.req.url).pathname,
    ...problem.extra,
  };
  return new Response(JSON.stringify(body), {
    status: problem.status,
    headers: { "content-type": "application/problem+json", ...problem.headers },
  });
}

export const badRequest = (detail: string, extra?: Record<string, unknown>) =>
  new ProblemError({ status: 400, kind: "bad-request", title: "The request is malformed", detail, extra });

export const unprocessable = (kind: string, detail: string, extra?: Record<string, unknown>) =>
  new ProblemError({ status: 422, kind, title: "The request cannot be carried out", detail, extra });
