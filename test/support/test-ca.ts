import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

/**
 * A throw-away certificate authority made with openssl (Debian ships it): a server certificate for
 * 127.0.0.1 (an IP SAN, as Node checks it), a client certificate for mutual TLS, and a second CA that
 * signed neither, for "not trusted". Short-lived; everything is written into `dir`.
 */

export type TestCa = {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed nothing here. */
  otherCa: string;
};

const run = promisify(execFile);
const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

async function selfSigned(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  await run("openssl", ["req", "-x509", ...EC, "-keyout", key, "-out", cert, "-days", "1", "-subj", `/CN=${name}`]);
  return { cert, key };
}

async function signed(
  dir: string,
  name: string,
  ca: { cert: string; key: string },
  extensions: string,
): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  await writeFile(ext, extensions);
  await run("openssl", ["req", ...EC, "-keyout", key, "-out", csr, "-subj", `/CN=${name}`]);
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-set_serial",
    String(Math.floor(Math.random() * 1e9)),
    "-out",
    cert,
    "-days",
    "1",
    "-extfile",
    ext,
  ]);
  return { cert, key };
}

export async function makeTestCa(dir: string): Promise<TestCa> {
  const ca = await selfSigned(dir, "hookd-test-ca");
  const other = await selfSigned(dir, "hookd-other-ca");
  const server = await signed(dir, "nats-server", ca, "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  const client = await signed(dir, "hookd-client", ca, "extendedKeyUsage=clientAuth\n");
  return {
    ca: ca.cert,
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
    otherCa: other.cert,
  };
}

/** nats-server's tls block for this CA's server certificate; `verify` asks clients for a certificate too. */
export const natsTlsConfig = (ca: TestCa, verify = false) =>
  `tls {\n  cert_file: "${ca.serverCert}"\n  key_file: "${ca.serverKey}"\n  ca_file: "${ca.ca}"\n  verify: ${verify}\n}`;
