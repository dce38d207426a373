import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { anchors, links } from "./support/markdown.ts";

/** The README is a map: every relative link in it and in docs/ leads to a file (and heading) that exists. */

const root = resolve(import.meta.dirname, "..");
const docs = readdirSync(join(root, "docs"))
  .filter((name) => name.endsWith(".md"))
  .map((name) => join("docs", name));
const pages = ["README.md", "test/README.md", ...docs];
const read = (file: string) => readFileSync(join(root, file), "utf8");

describe("documentation links", () => {
  it.each(pages)("every relative link in %s resolves", (page) => {
    const broken: string[] = [];
    for (const target of links(read(page))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
      const [path = "", anchor] = target.split("#", 2);
      const file = path === "" ? page : relative(root, resolve(root, dirname(page), decodeURI(path)));
      const absolute = join(root, file);
      if (!existsSync(absolute)) {
        broken.push(`${target}: no file ${file}`);
        continue;
      }
      if (anchor && file.endsWith(".md") && statSync(absolute).isFile() && !anchors(read(file)).has(anchor)) {
        broken.push(`${target}: no heading #${anchor} in ${file}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("the docs index links every page in docs/", () => {
    const linked = new Set(links(read("docs/README.md")).map((target) => target.split("#")[0]));
    const missing = docs.map((file) => file.slice("docs/".length)).filter((name) =>
      name !== "README.md" && !linked.has(name)
    );
    expect(missing).toEqual([]);
  });

  it("the README stays a map: under 12 KB", () => {
    expect(Buffer.byteLength(read("README.md"))).toBeLessThan(12 * 1024);
  });
});
