import type { Hono } from "hono";
import { Page } from "./layout.tsx";
import { endSession, isSameOrigin, judgeToken, refuseCrossSite, type SessionEnv, startSession } from "./session.ts";
import { CONSOLE_PATH } from "./session.ts";
import type { TokenChecker } from "../domain/token-check.ts";

/** Signing in and out. Signing in is refused from another origin too, so a page elsewhere cannot sign a browser in. */

export const SIGN_IN_PATH = `${CONSOLE_PATH}/sign-in`;

function SignInPage({ message }: { message?: string }) {
  return (
    <Page title="Sign in">
      <section class="card narrow">
        <h1>Sign in to the hookd console</h1>
        <form method="post" action={SIGN_IN_PATH} class="stack">
          <label for="token">Token</label>
          <input id="token" name="token" type="password" autocomplete="current-password" required spellcheck={false} />
          <p class="muted">
            The admin token (the token for <code>/</code>), or any token that grants <code>/api/v1/</code> and{" "}
            <code>/sub/</code>. It is kept in an HttpOnly cookie for this site only.
          </p>
          {message ? <p class="error" role="alert" id="sign-in-error">{message}</p> : null}
          <button type="submit">Sign in</button>
        </form>
      </section>
    </Page>
  );
}

/** The routes that need no session: they come before the session check. */
export function mountSignIn(app: Hono<SessionEnv>, tokens: TokenChecker): void {
  app.get("/sign-in", (c) => c.html(<SignInPage />));
  app.post("/sign-in", async (c) => {
    if (!isSameOrigin(c)) return refuseCrossSite(c);
    const form = await c.req.parseBody();
    const token = typeof form.token === "string" ? form.token.trim() : "";
    const verdict = await judgeToken(tokens, token);
    if (!verdict.ok) return c.html(<SignInPage message={verdict.message} />, 401);
    startSession(c, token);
    return c.redirect(`${CONSOLE_PATH}/deliveries`, 303);
  });
}

/** After the session check, which for a POST is also the CSRF check. */
export function mountSignOut(app: Hono<SessionEnv>): void {
  app.post("/sign-out", (c) => {
    endSession(c);
    return c.redirect(SIGN_IN_PATH, 303);
  });
}
