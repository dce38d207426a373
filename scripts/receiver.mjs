#!/usr/bin/env node
// A webhook receiver for trying hookd out: prints each request it gets and answers 200.
// Usage: node scripts/receiver.mjs [host:]port    (the host defaults to 127.0.0.1)
import { createServer } from "node:http";

const [host, port] = (process.argv[2] ?? "9000").includes(":")
  ? process.argv[2].split(":")
  : ["127.0.0.1", process.argv[2] ?? "9000"];

createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const signed = request.headers["webhook-signature"] ? " (signed)" : "";
    console.log(`receiver: ${request.method} ${request.url}${signed} ${Buffer.concat(chunks)}`);
    response.end();
  });
}).listen(Number(port), host, () => console.log(`receiver: listening on http://${host}:${port}`));
