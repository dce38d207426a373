import type { Context, Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { sseHeadOnly } from "./event-stream.ts";
import { describeMachine } from "../../actors/machine-graph.ts";
import { subscriptionMachine } from "../../actors/subscription.machine.ts";
import { generateSecret } from "../domain/subscription-secret.ts";
import { hasFourDigitYear } from "../domain/four-digit-year.ts";
import { orderedLineView, subscriptionView } from "../runtime/subscription-view.ts";
import { TransitionRefusedError } from "../runtime/errors.ts";
import { rotateSubscriptionSecret } from "../runtime/subscription-secret-rotation.ts";
import { actionResult } from "./action-result.tsx";
import type { ConsoleDeps } from "./console-deps.ts";
import { layOutMachine } from "./machine-layout.ts";
import { ReplayJobs } from "./replay-jobs.ts";
import type { SessionEnv } from "./session.ts";
import { renderToString } from "./render.ts";
import {
  NewSecret,
  ReplayFollower,
  ReplayProgressView,
  SubscriptionPage,
  SubscriptionPanel,
  SubscriptionsPage,
} from "./subscriptions-page.tsx";

/** /console/subscriptions: the list, one subscription, and its actions, all through SubscriptionCommands as the API. */

const subscriptionLayout = layOutMachine(describeMachine(subscriptionMachine));
const ATTEMPTS_SHOWN = 50;
const LIST_LIMIT = 200;
/** What the API's rotate-secret defaults to. */
const GRACE_MS = 24 * 3_600_000;

async function detail(deps: ConsoleDeps, id: string) {
  const subscription = await deps.subscriptions.get(id);
  const attempts = await deps.subscriptionAttempts.recent(id, ATTEMPTS_SHOWN);
  const view = subscriptionView(id, subscription);
  const line = view.ordered ? await deps.orderedLines.view(id) : null;
  return { view, attempts, layout: subscriptionLayout, line: line ? orderedLineView(line) : null };
}

/** A datetime-local value (no zone), read as UTC. */
function utc(value: unknown): Date | null {
  if (typeof value !== "string" || value === "") return null;
  const date = new Date(/[zZ]$/.test(value) ? value : `${value}Z`);
  return Number.isNaN(date.getTime()) || !hasFourDigitYear(date) ? null : date;
}

export function mountSubscriptionPages(app: Hono<SessionEnv>, deps: ConsoleDeps): void {
  const replays = new ReplayJobs();
  app.get("/subscriptions", (c) => {
    const state = c.req.query("state") || undefined;
    const rows = deps.subscriptionDirectory.list({ state, limit: LIST_LIMIT })
      .map((target) => subscriptionView(target.id, target.subscription));
    return c.html(<SubscriptionsPage rows={rows} state={state ?? ""} csrf={c.get("csrf")} />);
  });
  app.get(
    "/subscriptions/:id",
    async (c) => c.html(<SubscriptionPage {...await detail(deps, c.req.param("id"))} csrf={c.get("csrf")} />),
  );
  const panel = async (c: Context<SessionEnv>) =>
    c.html(<SubscriptionPanel {...await detail(deps, c.req.param("id") ?? "")} />);
  app.post("/subscriptions/:id/deactivate", async (c) => {
    await deps.subscriptions.deactivate(c.req.param("id"), "deactivated in the console");
    return panel(c);
  });
  app.post("/subscriptions/:id/activate", async (c) => {
    await deps.subscriptions.activate(c.req.param("id"));
    return panel(c);
  });
  app.post("/subscriptions/:id/rotate-secret", async (c) => {
    const graceUntil = deps.clock() + GRACE_MS;
    const { secret } = await rotateSubscriptionSecret(deps.subscriptions, c.req.param("id"), {
      graceUntil,
      now: deps.clock,
      choose: generateSecret,
      refusePlain: () => new TransitionRefusedError("subscription", "given a secret (it is plain, unsigned)", "plain"),
    });
    return c.html(<NewSecret secret={secret} until={new Date(graceUntil).toISOString()} />);
  });
  app.post("/subscriptions/:id/replay", async (c) => {
    const id = c.req.param("id");
    const form = await c.req.parseBody();
    const since = utc(form.since);
    const until = utc(form.until) ?? new Date(deps.clock());
    if (!since || until < since) return c.html(actionResult("Give a start time, before the end.", false), 400);
    const subscription = await deps.subscriptions.get(id);
    if (subscription.state !== "active") {
      throw new TransitionRefusedError("subscription", "replayed (activate it first)", subscription.state);
    }
    const job = replays.start(
      id,
      (replayId, onProgress) =>
        deps.replaySubscription({ subscriptionId: id, subscription, replayId, since, until, onProgress }),
    );
    return c.html(<ReplayFollower job={job} />);
  });
  app.get("/replays/:id/live", (c) => {
    const id = c.req.param("id");
    if (!replays.get(id)) return c.text("no such replay on this instance", 404);
    const head = sseHeadOnly(c);
    if (head) return head;
    return streamSSE(c, async (stream) => {
      await new Promise<void>((resolve) => {
        const stop = replays.follow(id, (job) => {
          void stream.writeSSE({ event: "progress", data: renderToString(<ReplayProgressView job={job} />) });
          if (job.state !== "running") {
            void stream.writeSSE({ event: "end", data: job.state }).then(() => resolve(), () => resolve());
          }
        });
        stream.onAbort(() => {
          stop();
          resolve();
        });
      });
    });
  });
}
