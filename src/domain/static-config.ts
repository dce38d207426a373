import { z } from "zod";
import { parse as parseYaml } from "yaml";
import { GITHUB_ROUTED_TOPIC_PREFIX } from "./github-router.ts";
import { secretProblem } from "./subscription-secret.ts";
import { newSubscriptionFields, SubscriptionSettingsSchema } from "./subscription-settings.ts";
import { parseTopic, patternText, TopicNameError } from "./topic-name.ts";

/**
 * The config file (HOOKD_CONFIG, JSON or YAML): subscriptions an operator declares instead of
 * creating them over the API, routers, and the GitHub secrets that guard publish routes. Each
 * subscription and router has a name, its identity across restarts and instances.
 */

export const StaticSubscriptionSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, "name: letters, digits, . _ - (at most 100)"),
    topic: z.string().superRefine((topic, ctx) => {
      try {
        parseTopic(topic, { allowRecursive: true });
      } catch (error) {
        if (error instanceof TopicNameError) ctx.addIssue({ code: "custom", message: error.message });
        else throw error;
      }
    }),
    ...newSubscriptionFields(SubscriptionSettingsSchema.shape),
    // The API checks its URLs against the network policy (http/target-url.ts); the file is read before there is one.
    url: z.url({ protocol: /^https?$/, error: "url must be an absolute http(s) URL" }),
    callback_url: z.url({ protocol: /^https?$/, error: "callback_url must be an absolute http(s) URL" }).optional(),
    errback_url: z.url({ protocol: /^https?$/, error: "errback_url must be an absolute http(s) URL" }).optional(),
    secret: z.string().optional(),
  })
  .strict()
  .superRefine((entry, ctx) => {
    const problem = secretProblem(entry.dialect, entry.secret, "config");
    if (problem !== null) ctx.addIssue({ code: "custom", path: ["secret"], message: problem });
  });
export type StaticSubscription = z.infer<typeof StaticSubscriptionSchema>;

const UNSAFE_PREFIX = "/unsafe/";

/** A topic as the file names it: a trailing "/" covers every topic below; "/unsafe/…" is Hookbot's unsafe namespace (its own name for it). */
export const ConfigTopicSchema = z.string().transform((text, ctx) => {
  const unsafe = text.startsWith(UNSAFE_PREFIX);
  try {
    const pattern = parseTopic(unsafe ? text.slice(UNSAFE_PREFIX.length) : text, { allowRecursive: true });
    return {
      namespace: unsafe ? ("unsafe" as const) : ("safe" as const),
      topic: pattern.topic,
      recursive: pattern.recursive,
    };
  } catch (error) {
    if (!(error instanceof TopicNameError)) throw error;
    ctx.addIssue({ code: "custom", message: error.message });
    return z.NEVER;
  }
});
export type ConfigTopic = z.infer<typeof ConfigTopicSchema>;

/** A config topic as written in the file: the inverse of ConfigTopicSchema. */
export function formatConfigTopic(topic: ConfigTopic): string {
  return `${topic.namespace === "unsafe" ? UNSAFE_PREFIX : ""}${patternText(topic)}`;
}

/** A router republishes the messages of one topic (or every topic below it) onto others, by its type's rule. */
export const RouterSchema = z
  .object({
    // The name becomes a NATS consumer name, which can't hold ".".
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, "name: letters, digits, _ - (at most 64, no dots)"),
    type: z.enum(["github"], { error: 'type must be "github" (the router for GitHub webhooks)' }),
    from: ConfigTopicSchema,
  })
  .strict()
  .superRefine((router, ctx) => {
    const { namespace, topic, recursive } = router.from;
    const below = GITHUB_ROUTED_TOPIC_PREFIX;
    // Its own output isn't an envelope, so reading it would do nothing but waste work on every push.
    if (namespace === "safe" && (topic.startsWith(below) || (recursive && below.startsWith(topic + "/")))) {
      ctx.addIssue({
        code: "custom",
        path: ["from"],
        message: `a github router writes to ${below}…; pick a "from" that doesn't cover those topics`,
      });
    }
  });
export type RouterConfig = z.infer<typeof RouterSchema>;

/** A GitHub webhook secret: publishing to the topics it covers needs a valid X-Hub-Signature(-256). */
export const GitHubSecretSchema = z
  .object({
    topic: ConfigTopicSchema,
    secret: z.string().min(1, "secret is empty: use the webhook's secret as set in GitHub"),
  })
  .strict();
export type GitHubSecret = z.infer<typeof GitHubSecretSchema>;

export const StaticConfigSchema = z
  .object({
    subscriptions: z.array(StaticSubscriptionSchema).default([]),
    routers: z.array(RouterSchema).default([]),
    github: z.object({ secrets: z.array(GitHubSecretSchema).default([]) }).strict().default({ secrets: [] }),
  })
  .strict()
  .superRefine((config, ctx) => {
    for (const list of ["subscriptions", "routers"] as const) {
      const seen = new Set<string>();
      config[list].forEach((entry, index) => {
        if (seen.has(entry.name)) {
          ctx.addIssue({ code: "custom", path: [list, index, "name"], message: `"${entry.name}" is used twice` });
        }
        seen.add(entry.name);
      });
    }
  });
export type StaticConfig = z.infer<typeof StaticConfigSchema>;

export class StaticConfigError extends Error {}

/**
 * A secret the file names instead of holding: `{ env: NAME }` or `{ file: /path }`, so the file can
 * be committed or shared while the secrets live in the environment or a secrets mount.
 */
export const SecretRefSchema = z.union([
  z.object({ env: z.string().min(1, "env names an environment variable") }).strict(),
  z.object({ file: z.string().min(1, "file names a file holding the secret") }).strict(),
]);
export type SecretRef = z.infer<typeof SecretRefSchema>;
/** The secret a reference names; throws an Error whose message says what is missing. */
export type SecretResolver = (ref: SecretRef) => string;

/** Where secrets may be written as references: each subscription's and each GitHub secret's `secret`. */
function secretHolders(raw: unknown): Array<{ path: string; holder: Record<string, unknown> }> {
  const holders: Array<{ path: string; holder: Record<string, unknown> }> = [];
  const collect = (list: unknown, path: string) => {
    if (!Array.isArray(list)) return;
    list.forEach((entry, index) => {
      if (entry && typeof entry === "object") holders.push({ path: `${path}.${index}`, holder: entry });
    });
  };
  if (raw && typeof raw === "object") {
    const file = raw as { subscriptions?: unknown; github?: { secrets?: unknown } };
    collect(file.subscriptions, "subscriptions");
    if (file.github && typeof file.github === "object") collect(file.github.secrets, "github.secrets");
  }
  return holders;
}

/** Replaces every secret reference in the raw file by the secret it names; returns the problems found. */
function resolveSecretRefs(raw: unknown, resolve: SecretResolver): string[] {
  const problems: string[] = [];
  for (const { path, holder } of secretHolders(raw)) {
    const value = holder.secret;
    if (value === undefined || typeof value === "string") continue;
    const ref = SecretRefSchema.safeParse(value);
    if (!ref.success) {
      problems.push(`  ${path}.secret: a secret is a string, { env: NAME } or { file: /path }`);
      continue;
    }
    try {
      holder.secret = resolve(ref.data);
    } catch (error) {
      problems.push(`  ${path}.secret: ${(error as Error).message}`);
    }
  }
  return problems;
}

function noSecretRefs(): string {
  throw new Error("secret references are not read here");
}

/** Parses the file's text (YAML is a superset of JSON, so one parser reads both) and says exactly what is wrong. */
export function parseStaticConfig(text: string, file: string, resolve: SecretResolver = noSecretRefs): StaticConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new StaticConfigError(`${file} is not valid YAML or JSON: ${(error as Error).message}`);
  }
  const problems = resolveSecretRefs(raw, resolve);
  if (problems.length > 0) throw new StaticConfigError(`${file} is invalid:\n${problems.join("\n")}`);
  const result = StaticConfigSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `  ${issue.path.join(".") || "(top level)"}: ${issue.message}`);
  throw new StaticConfigError(`${file} is invalid:\n${lines.join("\n")}`);
}
