import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/**
 * The shape the codebase keeps (issue 8): no function in src/ or actors/ runs past about 60 lines
 * unless a comment right above it starts with `Long:` and says why. The length lives in files, not functions.
 */

const MAX_FUNCTION_LINES = 60;
/** `// Long: <why>` (or the same at the start of a block comment), with a reason of a few words at least. */
const LONG_MARKER = /^(\/\/|\/\*\*?)\s*Long:\s*\S.{10,}/s;
const ROOT = join(import.meta.dirname, "..");

async function sourceFiles(dir: string): Promise<string[]> {
  // Paths as strings: Dirent.parentPath is missing before Node 20.12, and hookd supports every Node 20.
  const paths = await readdir(join(ROOT, dir), { recursive: true, encoding: "utf8" });
  return paths.filter((path) => path.endsWith(".ts") && !path.endsWith(".test.ts")).map((path) => join(dir, path));
}

type LongFunction = { where: string; lines: number };

function longFunctionsIn(file: string, text: string): LongFunction[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: LongFunction[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = last - first + 1;
      if (lines > MAX_FUNCTION_LINES && !explainsLength(text, commentHolder(node))) {
        found.push({ where: `${file}:${first + 1}`, lines });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The node whose leading comments describe a function: the declaration that holds an arrow function, if any. */
function commentHolder(node: ts.Node): ts.Node {
  let holder = node;
  while (
    holder.parent && (ts.isVariableDeclaration(holder.parent) || ts.isVariableDeclarationList(holder.parent) ||
      ts.isVariableStatement(holder.parent) || ts.isPropertyAssignment(holder.parent) ||
      ts.isExportAssignment(holder.parent))
  ) {
    holder = holder.parent;
  }
  return holder;
}

/** A comment right above the function that starts with "Long:" and gives the reason. */
function explainsLength(text: string, node: ts.Node): boolean {
  const comments = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
  return comments.some((range) => LONG_MARKER.test(text.slice(range.pos, range.end)));
}

/** `void p.then(f)` with no rejection handler: a rejected `p` is an unhandled rejection, which ends Node and Deno. */
function unhandledThensIn(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TSX);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (
      ts.isVoidExpression(node) && ts.isCallExpression(node.expression) &&
      ts.isPropertyAccessExpression(node.expression.expression) &&
      node.expression.expression.name.text === "then" && node.expression.arguments.length < 2
    ) {
      found.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe("code shape", () => {
  // The console's (its promises read NATS); elsewhere such promises (closed(), a catch-up wait) resolve only.
  it("handles the rejection of every promise the console lets go with void … .then(…)", async () => {
    const paths = await readdir(join(ROOT, "src/console"), { recursive: true, encoding: "utf8" });
    const files = paths.filter((path) => /\.tsx?$/.test(path) && !/\.test\.tsx?$/.test(path));
    const unhandled: string[] = [];
    for (const file of files) {
      unhandled.push(...unhandledThensIn(file, await readFile(join(ROOT, "src/console", file), "utf8")));
    }
    expect(unhandled).toEqual([]);
  });

  it(`keeps every function in src/ and actors/ within ${MAX_FUNCTION_LINES} lines, or says why it is longer`, async () => {
    const files = [...(await sourceFiles("src")), ...(await sourceFiles("actors"))];
    const long: LongFunction[] = [];
    for (const file of files) long.push(...longFunctionsIn(file, await readFile(join(ROOT, file), "utf8")));
    expect(long).toEqual([]);
  });

  it("flags a long function unless its comment starts with Long: and a reason", () => {
    const body = Array.from({ length: 70 }, (_, i) => `  const v${i} = ${i};`).join("\n");
    const fn = (comment: string) => `${comment}\nexport function waits(): void {\n${body}\n}\n`;
    expect(longFunctionsIn("a.ts", fn("/** Waits as long as the caller says. */"))).toHaveLength(1);
    expect(longFunctionsIn("a.ts", fn("// Long:"))).toHaveLength(1);
    expect(longFunctionsIn("a.ts", fn("// Long: one step per state, read top to bottom like the diagram."))).toEqual(
      [],
    );
  });
});
