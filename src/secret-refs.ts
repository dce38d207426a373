import { readFileSync } from "node:fs";
import type { SecretRef } from "./domain/static-config.ts";

/**
 * Reads a secret the config file names by reference: an environment variable of this process, or a
 * file (a trailing newline, as `echo` and most secret mounts leave, is not part of the secret).
 */
export function readSecretRef(ref: SecretRef): string {
  if ("env" in ref) {
    const value = process.env[ref.env];
    if (!value) throw new Error(`environment variable ${ref.env} is not set (or is empty)`);
    return value;
  }
  let text: string;
  try {
    text = readFileSync(ref.file, "utf8");
  } catch (error) {
    throw new Error(`cannot read secret file ${ref.file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  const secret = text.replace(/\r?\n$/, "");
  if (!secret) throw new Error(`secret file ${ref.file} is empty`);
  return secret;
}
