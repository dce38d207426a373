import { type GitHubSecretRule, githubSecretsFor } from "./github-signature.ts";
import type { RouterConfig } from "./static-config.ts";

/**
 * GitHub routers whose source topic no GitHub secret guards. Such a router believes whatever is
 * published there, so anyone who may publish to it (anyone at all on an /unsafe/ topic) can make
 * it announce pushes: worth a warning at start.
 */
export function unguardedRouters(
  routers: readonly RouterConfig[],
  secrets: readonly GitHubSecretRule[],
): RouterConfig[] {
  return routers.filter((router) => {
    const { namespace, topic, recursive } = router.from;
    // For a prefix, any topic below it stands for the rest: a rule covering one below covers the prefix's topics.
    return githubSecretsFor(secrets, namespace, recursive ? `${topic}/any` : topic).length === 0;
  });
}
