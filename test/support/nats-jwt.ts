import { nkeys } from "@nats-io/transport-node";
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * NATS's decentralised auth for tests, made by hand with NKeys (no nsc, no jwt package): an operator,
 * a system account and an account with JetStream, their JWTs preloaded into nats-server's MEMORY
 * resolver, and a user's .creds file (its JWT and seed), as an operator's nsc would hand it out.
 */

type KeyPair = ReturnType<typeof nkeys.createOperator>;

const base64url = (data: string | Uint8Array) => Buffer.from(data).toString("base64url");
const NO_LIMIT = { subs: -1, data: -1, payload: -1 };

/** A v2 JWT: its claims, signed with the issuer's key. */
function encodeJwt(issuer: KeyPair, subject: string, name: string, nats: Record<string, unknown>): string {
  const claims: Record<string, unknown> = {
    iat: Math.floor(Date.now() / 1000),
    iss: issuer.getPublicKey(),
    name,
    sub: subject,
    nats: { ...nats, version: 2 },
  };
  claims.jti = createHash("sha256").update(JSON.stringify(claims)).digest("base64url");
  const signed = `${base64url(JSON.stringify({ typ: "JWT", alg: "ed25519-nkey" }))}.${
    base64url(JSON.stringify(claims))
  }`;
  return `${signed}.${base64url(issuer.sign(new TextEncoder().encode(signed)))}`;
}

function accountJwt(operator: KeyPair, account: KeyPair, name: string, jetstream: boolean): string {
  const limits = {
    ...NO_LIMIT,
    conn: -1,
    leaf: -1,
    imports: -1,
    exports: -1,
    wildcards: true,
    ...(jetstream ? { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 } : {}),
  };
  return encodeJwt(operator, account.getPublicKey(), name, { type: "account", limits });
}

function credsText(jwt: string, seed: string): string {
  return [
    "-----BEGIN NATS USER JWT-----",
    jwt,
    "------END NATS USER JWT------",
    "",
    "-----BEGIN USER NKEY SEED-----",
    seed,
    "------END USER NKEY SEED------",
    "",
  ].join("\n");
}

export type OperatorSetup = {
  /** nats-server configuration: the operator, the resolver with both accounts, the system account. */
  serverConfig: string;
  /** A .creds file for a user of the JetStream account. */
  credsFile: string;
  /** A .creds file signed by an account the server does not know. */
  strangerCredsFile: string;
};

export async function makeOperator(dir: string): Promise<OperatorSetup> {
  const operator = nkeys.createOperator();
  const system = nkeys.createAccount();
  const account = nkeys.createAccount();
  const operatorJwt = encodeJwt(operator, operator.getPublicKey(), "test-operator", {
    type: "operator",
    system_account: system.getPublicKey(),
  });
  const user = nkeys.createUser();
  const userJwt = encodeJwt(account, user.getPublicKey(), "hookd", { type: "user", ...NO_LIMIT, pub: {}, sub: {} });
  const credsFile = join(dir, "hookd.creds");
  await writeFile(credsFile, credsText(userJwt, new TextDecoder().decode(user.getSeed())));
  const stranger = nkeys.createAccount();
  const strangerJwt = encodeJwt(stranger, user.getPublicKey(), "hookd", {
    type: "user",
    ...NO_LIMIT,
    pub: {},
    sub: {},
  });
  const strangerCredsFile = join(dir, "stranger.creds");
  await writeFile(strangerCredsFile, credsText(strangerJwt, new TextDecoder().decode(user.getSeed())));
  const serverConfig = [
    `operator: ${operatorJwt}`,
    `system_account: ${system.getPublicKey()}`,
    "resolver: MEMORY",
    "resolver_preload: {",
    `  ${system.getPublicKey()}: ${accountJwt(operator, system, "SYS", false)}`,
    `  ${account.getPublicKey()}: ${accountJwt(operator, account, "HOOKD", true)}`,
    "}",
  ].join("\n");
  return { serverConfig, credsFile, strangerCredsFile };
}
