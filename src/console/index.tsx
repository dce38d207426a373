import { Hono } from "hono";
import { actionResult } from "./action-result.tsx";
import type { ConsoleDeps } from "./console-deps.ts";
import { mountDeliveryPages } from "./delivery-routes.tsx";
import { mountSubscriptionPages } from "./subscription-routes.tsx";
import { mountTopicPages } from "./topic-routes.tsx";
import { mountFleetPage } from "./fleet-routes.tsx";
import { mountBulkPages } from "./bulk-routes.tsx";
import { mountEventPage } from "./event-page.tsx";
import { mountDeliveryList } from "./deliveries-routes.tsx";
import { securityHeaders } from "./security-headers.ts";
import { CONSOLE_PATH, requireSession, type SessionEnv } from "./session.ts";
import { mountSignIn, mountSignOut, SIGN_IN_PATH } from "./sign-in.tsx";
import { consoleErrorMessage, consoleErrorTitle } from "./error-message.ts";
import { NatsUnavailableError, UnreadableEntryError } from "../nats/journal.ts";
import { Page } from "./layout.tsx";

/**
 * The console under /console: server-rendered pages (Hono JSX) with htmx from node_modules, behind
 * its own sign-in (a cookie, not the API's Authorization header) and a strict CSP.
 */

export { CONSOLE_PATH } from "./session.ts";
export type { ConsoleDeps } from "./console-deps.ts";

export function consoleRoutes(deps: ConsoleDeps): Hono<SessionEnv> {
  const app = new Hono<SessionEnv>();
  app.use("*", securityHeaders);
  app.get("/assets/:name", (c) => {
    const asset = deps.assets.get(c.req.param("name"));
    if (!asset) return c.text("no such asset", 404);
    return c.body(asset.body, 200, { "content-type": asset.type, "cache-control": "public, max-age=300" });
  });
  mountSignIn(app, deps.tokens);
  app.use("*", requireSession(deps.tokens, SIGN_IN_PATH));
  app.get("/", (c) => c.redirect(`${CONSOLE_PATH}/deliveries`, 303));
  mountSignOut(app);
  // The list's fixed paths (results, live) before the page of one delivery, which takes any id.
  mountDeliveryList(app, deps);
  mountDeliveryPages(app, deps);
  mountSubscriptionPages(app, deps);
  mountTopicPages(app, deps);
  mountEventPage(app, deps);
  mountFleetPage(app, deps);
  mountBulkPages(app, deps);
  app.onError((error, c) => {
    const message = consoleErrorMessage(error);
    // As the API logs them: what hookd cannot help (NATS away, a journal message it cannot read) is a warning.
    const expected = error instanceof NatsUnavailableError || error instanceof UnreadableEntryError;
    if (expected) deps.log.warn({ err: error, path: c.req.path }, "a console page failed");
    else if (message.status >= 500) deps.log.error({ err: error, path: c.req.path }, "a console page failed");
    if (c.req.header("hx-request")) return c.html(actionResult(message.text, false), message.status);
    return c.html(
      <Page title={consoleErrorTitle(message.status)}>
        <p class="error">{message.text}</p>
      </Page>,
      message.status,
    );
  });
  return app;
}
