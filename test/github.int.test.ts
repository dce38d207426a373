// deno-lint-ignore-file no-explicit-any -- tests read hookd's JSON answers field by field
import { AckPolicy, DeliverPolicy, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { createHmac } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { parseStaticConfig, StaticConfigError } from "../src/domain/static-config.ts";
import { api, eventually, startTestHookd } from "./support/hookd.ts";
import { hookdSuite } from "./support/suite.ts";
import { createLayout } from "../src/nats/layout.ts";

const layout = createLayout();

const SECRET = "It's a Secret to Everybody";
const UNSAFE_SECRET = "unsafe-side-secret";
// github-org reads one org-wide topic; hookbot-style is Hookbot's own setup: GitHub posts to /unsafe/pub/github.com/… without a token.
const CONFIG = `github:
  secrets:
    - topic: github.com/acme/
      secret: "${SECRET}"
    - topic: /unsafe/github.com/
      secret: ${UNSAFE_SECRET}
routers:
  - name: github-org
    type: github
    from: github.com/acme/all
  - name: hookbot-style
    type: github
    from: /unsafe/github.com/
`;

const sign = (hash: "sha256" | "sha1", secret: string, body: string) =>
  `${hash}=${createHmac(hash, secret).update(body).digest("hex")}`;

function pushPayload(sha: string, ref = "refs/heads/main") {
  return JSON.stringify({
    ref,
    before: "9049f1265b7d61be4a8904a9a27120d2064dab3b",
    after: sha,
    repository: { name: "widget", full_name: "acme/widget" },
    pusher: { name: "octocat", email: "octocat@github.com" },
  });
}

/** A webhook as GitHub sends it to POST /pub/<topic>?extra-metadata=github. */
async function deliverFromGitHub(
  base: string,
  topic: string,
  options: {
    event: string;
    delivery: string;
    body: string;
    secret?: string;
    signatures?: "both" | "sha1" | "none";
    query?: string;
  },
) {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "GitHub-Hookshot/test",
    "x-github-event": options.event,
    "x-github-delivery": options.delivery,
  };
  const signatures = options.signatures ?? "both";
  if (signatures !== "none") headers["x-hub-signature"] = sign("sha1", options.secret ?? SECRET, options.body);
  if (signatures === "both") headers["x-hub-signature-256"] = sign("sha256", options.secret ?? SECRET, options.body);
  const response = await api(base, `/pub/${topic}?${options.query ?? "extra-metadata=github"}`, {
    method: "POST",
    headers,
    body: options.body,
  });
  return { response, json: (await response.json()) as Record<string, any>, headers };
}

describe("config file: routers and GitHub secrets", () => {
  const attempt = (text: string) => {
    try {
      return parseStaticConfig(text, "hookd.yaml");
    } catch (error) {
      expect(error).toBeInstanceOf(StaticConfigError);
      return (error as Error).message;
    }
  };

  it("reads routers and secrets, with Hookbot's /unsafe/ names for the unsafe namespace", () => {
    expect(attempt(CONFIG)).toMatchObject({
      github: {
        secrets: [
          { topic: { namespace: "safe", topic: "github.com/acme", recursive: true }, secret: SECRET },
          { topic: { namespace: "unsafe", topic: "github.com", recursive: true }, secret: UNSAFE_SECRET },
        ],
      },
      routers: [
        {
          name: "github-org",
          type: "github",
          from: { namespace: "safe", topic: "github.com/acme/all", recursive: false },
        },
        { name: "hookbot-style", type: "github", from: { namespace: "unsafe", topic: "github.com", recursive: true } },
      ],
    });
    expect(attempt("subscriptions: []\n")).toMatchObject({ routers: [], github: { secrets: [] } });
  });

  it("says exactly what is wrong", () => {
    expect(attempt("routers:\n  - {name: a, type: gitlab, from: x}\n")).toMatch(
      /routers.0.type: type must be "github"/,
    );
    expect(attempt("routers:\n  - {name: a.b, type: github, from: x}\n")).toMatch(/routers.0.name: .*no dots/);
    expect(attempt("routers:\n  - {name: a, type: github, from: x//y}\n")).toMatch(
      /routers.0.from: the topic has an empty segment/,
    );
    expect(attempt("routers:\n  - {name: a, type: github, from: github.com/}\n")).toMatch(
      /routers.0.from: a github router writes to github.com\/repo\//,
    );
    expect(attempt("routers:\n  - {name: a, type: github, from: x}\n  - {name: a, type: github, from: y}\n")).toMatch(
      /routers.1.name: "a" is used twice/,
    );
    expect(attempt("routers:\n  - {name: a, type: github}\n")).toMatch(/routers.0.from/);
    expect(attempt("github:\n  secrets:\n    - {topic: github.com/acme/, secret: ''}\n")).toMatch(
      /github.secrets.0.secret: secret is empty/,
    );
    expect(attempt("github:\n  secrets:\n    - {topic: /github.com, secret: s}\n")).toMatch(
      /github.secrets.0.topic: the topic can't start with "\/"/,
    );
    expect(attempt("github:\n  secret: s\n")).toMatch(/github: Unrecognized key/);
  });
});

describe("GitHub webhooks and the GitHub router", () => {
  const suite = hookdSuite({ config: CONFIG, connect: true });
  let jsm: JetStreamManager;
  const routed = () => suite.receiver.requests.filter((request) => request.path === "/routed");

  beforeAll(async () => {
    jsm = await jetstreamManager(suite.nc);
    const subscribe = await api(suite.hookd.url, "/api/v1/subscriptions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ topic: "github.com/repo/", url: `${suite.receiver.url}/routed`, dialect: "plain" }),
    });
    expect(subscribe.status).toBe(201);
  });

  async function stored(seq: number) {
    const message = await jsm.direct.getMessage(layout.streams.topics, { seq });
    if (!message) throw new Error(`no message at ${seq}`);
    return {
      subject: message.subject,
      body: Buffer.from(message.data).toString(),
      header: (name: string) => message.header?.get(name) ?? "",
    };
  }

  it("?extra-metadata=github stores Hookbot's envelope, byte for byte, as application/json", async () => {
    const body = '{"zen":"Keep it logically awesome.","hook_id":42,"html":"<b>&</b>"}';
    // No secret covers hooks/plain, so the (made-up) signature is stored as sent, unverified.
    const { response, json } = await deliverFromGitHub(suite.hookd.url, "hooks/plain", {
      event: "ping",
      delivery: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
      body,
      secret: "unchecked",
    });
    expect(response.status).toBe(202);
    const message = await stored(json.seq);
    expect(message.subject).toBe(layout.subjects.topic("hooks/plain"));
    expect(message.body).toBe(
      `{"Delivery":"72d3162e-cc78-11e3-81ab-4c9367dc0958","Event":"ping","Payload":"${
        Buffer.from(body).toString("base64")
      }","Signature":"${sign("sha1", "unchecked", body)}"}`,
    );
    expect(message.header("Content-Type")).toBe("application/json");
    expect(message.header("Hookd-Event-Type")).toBe("ping");
    // Missing headers are empty strings, as Go's Header.Get gives them.
    const bare = await api(suite.hookd.url, "/pub/hooks/plain?extra-metadata=github&type=custom.type", {
      method: "POST",
      body: "x",
    });
    const bareMessage = await stored(((await bare.json()) as { seq: number }).seq);
    expect(bareMessage.body).toBe('{"Delivery":"","Event":"","Payload":"eA==","Signature":""}');
    expect(bareMessage.header("Hookd-Event-Type")).toBe("custom.type");
  });

  it("any other ?extra-metadata= gets a 400 naming the accepted value", async () => {
    for (const query of ["extra-metadata=gitlab", "extra-metadata="]) {
      const response = await api(suite.hookd.url, `/pub/hooks/plain?${query}`, { method: "POST", body: "x" });
      expect(response.status).toBe(400);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      const problem = (await response.json()) as Record<string, any>;
      expect(problem.detail).toContain('"github"');
      expect(problem.accepted).toEqual(["github"]);
    }
  });

  it("a topic guarded by a GitHub secret takes only GitHub-signed bodies", async () => {
    const body = pushPayload("1111111111111111111111111111111111111111", "refs/heads/side");
    const topic = "github.com/acme/widget";

    expect(
      (await deliverFromGitHub(suite.hookd.url, topic, { event: "push", delivery: "good-256", body })).response.status,
    ).toBe(202);
    expect(
      (await deliverFromGitHub(suite.hookd.url, topic, {
        event: "push",
        delivery: "good-sha1",
        body,
        signatures: "sha1",
      })).response.status,
    ).toBe(202);

    const refused = [
      await deliverFromGitHub(suite.hookd.url, topic, {
        event: "push",
        delivery: "wrong-secret",
        body,
        secret: "guess",
      }),
      await deliverFromGitHub(suite.hookd.url, topic, {
        event: "push",
        delivery: "unsigned",
        body,
        signatures: "none",
      }),
      // A right SHA-1 signature does not rescue a wrong SHA-256 one.
      await (async () => {
        const headers = {
          "x-hub-signature-256": sign("sha256", "guess", body),
          "x-hub-signature": sign("sha1", SECRET, body),
          "x-github-event": "push",
        };
        const response = await api(suite.hookd.url, `/pub/${topic}?extra-metadata=github`, {
          method: "POST",
          headers,
          body,
        });
        return { response, json: (await response.json()) as Record<string, any> };
      })(),
      // The secret guards the topic, not only envelopes: a forged raw body is refused too.
      await deliverFromGitHub(suite.hookd.url, topic, {
        event: "push",
        delivery: "raw",
        body,
        signatures: "none",
        query: "",
      }),
    ];
    for (const { response, json } of refused) {
      expect(response.status).toBe(403);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      expect(json.type).toBe("urn:hookd:problem:github-signature");
      expect(json.detail).toMatch(/Nothing was stored/);
    }
    expect(refused[1]!.json.title).toBe("The GitHub signature is missing");

    // Only the two good ones reached the log.
    const info = await jsm.streams.info(layout.streams.topics, { subjects_filter: layout.subjects.topic(topic) });
    expect(info.state.subjects?.[layout.subjects.topic(topic)]).toBe(2);
  });

  it("the router republishes a push to github.com/repo/<owner>/<repo>/branch/<branch> as Hookbot's JSON, and ignores other events", async () => {
    const sha = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c";
    expect(
      (await deliverFromGitHub(suite.hookd.url, "github.com/acme/all", {
        event: "issues",
        delivery: "i-1",
        body: pushPayload("ffff"),
      })).response.status,
    ).toBe(202);
    expect(
      (await deliverFromGitHub(suite.hookd.url, "github.com/acme/all", {
        event: "push",
        delivery: "p-1",
        body: pushPayload(sha),
      })).response.status,
    ).toBe(202);
    // The router keeps one message in flight, so once the push is routed the issues event has been passed over.
    const [request] = await eventually(
      async () => (routed().length >= 1 ? routed() : undefined),
      20_000,
      "the routed push",
    );
    expect(request!.body.toString()).toBe(
      `{"Branch":"main","Repo":"acme/widget","SHA":"${sha}","Type":"push","Who":"octocat"}`,
    );
    expect(request!.headers["hookd-topic"]).toBe("github.com/repo/acme/widget/branch/main");
    expect(request!.headers["content-type"]).toBe("application/json");
    expect(request!.headers["hookd-event-type"]).toBe("push");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(routed()).toHaveLength(1);
  });

  it(
    "a router from the config file survives restarts: it routes what came while it was down, and nothing twice",
    async () => {
      const routerConsumer = layout.consumers.router("github-org");
      const filter = layout.subjects.topic("github.com/acme/all");
      const routedSubjects = async () => {
        const info = await jsm.streams.info(layout.streams.topics, {
          subjects_filter: "hookd.topic.s.github_2Ecom.repo.>",
        });
        return Object.values(info.state.subjects ?? {}).reduce((sum, count) => sum + count, 0);
      };
      const caughtUp = async () => {
        const info = await jsm.consumers.info(layout.streams.topics, routerConsumer);
        return info.num_pending === 0 && info.num_ack_pending === 0;
      };
      await eventually(caughtUp, 20_000, "the router to catch up");
      expect(await routedSubjects()).toBe(1);

      await suite.hookd.stop();
      // While the router's instance is down, an ingest-only instance (no routers, no fan-out) takes a push.
      const ingest = await startTestHookd(suite.nats.url, { HOOKD_CONFIG: suite.configFile, HOOKD_WORKERS: "off" });
      const whileDown = "2222222222222222222222222222222222222222";
      try {
        expect(
          (await deliverFromGitHub(ingest.url, "github.com/acme/all", {
            event: "push",
            delivery: "p-2",
            body: pushPayload(whileDown, "refs/heads/dev"),
          })).response.status,
        ).toBe(202);
      } finally {
        await ingest.stop();
      }
      expect((await jsm.consumers.info(layout.streams.topics, routerConsumer)).num_pending).toBe(1);

      suite.hookd = await startTestHookd(suite.nats.url, { HOOKD_CONFIG: suite.configFile });
      await eventually(
        async () => (routed().length >= 2 ? true : undefined),
        20_000,
        "the push made while hookd was down",
      );
      await eventually(caughtUp, 20_000, "the router to catch up");
      expect(JSON.parse(routed()[1]!.body.toString())).toMatchObject({ Branch: "dev", SHA: whileDown });
      expect(await routedSubjects()).toBe(2);

      // As if every ack had been lost: the consumer hands the whole topic back. The idempotency keys
      // (router, source sequence, output index) make the republishes duplicates, so nothing new is stored.
      await suite.hookd.stop();
      const { config } = await jsm.consumers.info(layout.streams.topics, routerConsumer);
      await jsm.consumers.delete(layout.streams.topics, routerConsumer);
      await jsm.consumers.add(layout.streams.topics, {
        ...config,
        deliver_policy: DeliverPolicy.All,
        ack_policy: AckPolicy.Explicit,
        filter_subject: filter,
      });
      expect((await jsm.consumers.info(layout.streams.topics, routerConsumer)).num_pending).toBe(3);
      suite.hookd = await startTestHookd(suite.nats.url, { HOOKD_CONFIG: suite.configFile });
      await eventually(caughtUp, 20_000, "the router to go through the topic again");
      expect(await routedSubjects()).toBe(2);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(routed()).toHaveLength(2);
    },
    60_000,
  );

  it("Hookbot's own setup: GitHub posts to /unsafe/pub/ without a token, the signature guards it, the router reads it", async () => {
    const sha = "3333333333333333333333333333333333333333";
    const body = pushPayload(sha, "refs/tags/v1.0.0");
    const post = (headers: Record<string, string>) =>
      fetch(`${suite.hookd.url}/unsafe/pub/github.com/acme?extra-metadata=github`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-github-event": "push",
          "x-github-delivery": "u-1",
          ...headers,
        },
        body,
      });
    expect((await post({})).status).toBe(403);
    expect((await post({ "x-hub-signature-256": sign("sha256", SECRET, body) })).status).toBe(403);
    expect((await post({ "x-hub-signature-256": sign("sha256", UNSAFE_SECRET, body) })).status).toBe(202);
    const request = await eventually(
      async () =>
        routed().find((r) => r.headers["hookd-topic"] === "github.com/repo/acme/widget/branch/refs/tags/v1.0.0"),
      20_000,
      "the routed tag push",
    );
    // A tag push keeps its refs/tags/ prefix: Hookbot strips only refs/heads/.
    expect(request.body.toString()).toBe(
      `{"Branch":"refs/tags/v1.0.0","Repo":"acme/widget","SHA":"${sha}","Type":"push","Who":"octocat"}`,
    );
  });
});
