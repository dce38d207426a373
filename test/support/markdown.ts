/**
 * Just enough Markdown for the documentation tests: fenced blocks, sections, headings as GitHub
 * anchors, and links. Fenced blocks are taken out before headings and links are read, so a shell
 * comment such as `# → 202` is neither.
 */

export type FencedBlock = { info: string; body: string };

const FENCE = /^(`{3,}|~{3,})(.*)$/;

/** Splits a document into prose lines (fenced blocks blanked out) and its fenced blocks, in order. */
function scan(markdown: string): { prose: string[]; blocks: FencedBlock[] } {
  const prose: string[] = [];
  const blocks: FencedBlock[] = [];
  let open: { fence: string; info: string; lines: string[] } | null = null;
  for (const line of markdown.split("\n")) {
    if (open) {
      if (line.trim().startsWith(open.fence) && line.trim().replace(/[`~]/g, "") === "") {
        blocks.push({ info: open.info, body: open.lines.join("\n") });
        open = null;
      } else {
        open.lines.push(line);
      }
      prose.push("");
      continue;
    }
    const fence = FENCE.exec(line.trim());
    if (fence) {
      open = { fence: fence[1]!, info: fence[2]!.trim(), lines: [] };
      prose.push("");
    } else {
      prose.push(line);
    }
  }
  return { prose, blocks };
}

export function fencedBlocks(markdown: string): FencedBlock[] {
  return scan(markdown).blocks;
}

/** Shell examples: fenced blocks marked sh, bash or shell. */
export function shellBlocks(markdown: string): string[] {
  return fencedBlocks(markdown)
    .filter((block) => /^(sh|bash|shell)\b/.test(block.info))
    .map((block) => block.body);
}

/** The text under a heading (any level) up to the next heading of the same or a higher level. */
export function section(markdown: string, title: string): string {
  const lines = markdown.split("\n");
  const { prose } = scan(markdown);
  const start = prose.findIndex((line) => /^#{1,6} /.test(line) && line.replace(/^#+ /, "").trim() === title);
  if (start < 0) throw new Error(`no heading "${title}"`);
  const level = /^#+/.exec(prose[start]!)![0].length;
  let end = prose.length;
  for (let i = start + 1; i < prose.length; i++) {
    const heading = /^(#{1,6}) /.exec(prose[i]!);
    if (heading && heading[1]!.length <= level) {
      end = i;
      break;
    }
  }
  return lines.slice(start + 1, end).join("\n");
}

/** GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .replace(/`/g, "")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** Every anchor a document's headings make, with GitHub's -1, -2 … for repeats. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of scan(markdown).prose) {
    const heading = /^#{1,6} (.+?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const base = slug(heading[1]!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** Link targets in the prose (not in code): inline links and images, `[text](target)`. */
export function links(markdown: string): string[] {
  const prose = scan(markdown).prose.join("\n").replace(/`[^`\n]*`/g, "``");
  return [...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((match) => match[1]!);
}
