import type { Context, Hono } from "hono";
import { TrieRouter } from "hono/router/trie-router";
import { problemResponse } from "./problem.ts";

/**
 * What a request that reached no handler gets: 405 with `Allow` when its path is a route that
 * takes other methods, else 404. Drawn from the app's own route table, so every route, present or
 * added later, answers a wrong method the same way without naming its methods twice.
 */

const MIDDLEWARE = "ALL";

/** The methods each path takes, as a router over the app's routes: matching a path gives the methods of its routes. */
function methodsByPath(app: Hono): TrieRouter<string> {
  const router = new TrieRouter<string>();
  for (const route of app.routes) {
    // Middleware (app.use) is registered for every method; it is no route of its own.
    if (route.method !== MIDDLEWARE) router.add(MIDDLEWARE, route.path, route.method);
  }
  return router;
}

export function allowedMethods(router: TrieRouter<string>, path: string): string[] {
  const methods = new Set(router.match("GET", path)[0].map(([method]) => method));
  // Hono answers HEAD with the GET route (the body left off).
  if (methods.has("GET")) methods.add("HEAD");
  return [...methods].sort();
}

/** The not-found handler: built on first use, once every route is registered. */
export function notFoundOrNotAllowed(app: Hono): (c: Context) => Response {
  let router: TrieRouter<string> | undefined;
  return (c) => {
    router ??= methodsByPath(app);
    const path = new URL(c.req.url).pathname;
    const allowed = allowedMethods(router, path);
    if (allowed.length === 0 || allowed.includes(c.req.method)) {
      return problemResponse(c, {
        status: 404,
        kind: "not-found",
        title: "No such route",
        detail: `${c.req.method} ${path} is not a hookd route.`,
      });
    }
    return problemResponse(c, {
      status: 405,
      kind: "method-not-allowed",
      title: "The route does not take this method",
      detail: `${path} takes ${allowed.join(", ")}, not ${c.req.method}.`,
      extra: { allowed },
      headers: { allow: allowed.join(", ") },
    });
  };
}
