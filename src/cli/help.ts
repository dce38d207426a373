/** The CLI's help, drawn from its command table, so a command cannot exist without its usage. */

export type CommandHelp = {
  /** How to call it, after "hookd "; one line per form. */
  usage: string[];
  /** One line, for the overview. */
  summary: string;
  /** Printed under the usage by `hookd help <command>`. */
  details?: string;
  /** The command's own options: [flag, meaning]. */
  options?: [string, string][];
  /** The overview's left column, when the first usage line says too little or too much. */
  synopsis?: string;
  /** Talks to a running hookd, so --url and --token apply. */
  remote?: boolean;
};

const COMMON_OPTIONS: [string, string][] = [
  ["--url URL", "where hookd is (default: HOOKD_URL, HOOKD_PUBLIC_URL, or http://127.0.0.1:$HOOKD_PORT)"],
  [
    "--token TOKEN",
    "the token to send (default: HOOKD_TOKEN, else the admin token of HOOKD_KEY or the data folder's key)",
  ],
  ["--help, -h", "print a command's usage and options"],
  ["--version", "print hookd's version"],
];

function table(rows: [string, string][], indent = "  "): string {
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, right]) => `${indent}${left.padEnd(width)}${right}`).join("\n");
}

/** The first usage line without its option groups ("[--since X]"): what the overview lists. */
function synopsisOf(command: CommandHelp): string {
  return command.synopsis ?? command.usage[0]!.replace(/\s*\[--[^\]]*\](\.\.\.)?/g, "");
}

export function overview(commands: Record<string, CommandHelp>): string {
  const rows = Object.values(commands).map((command): [string, string] => [synopsisOf(command), command.summary]);
  return [
    "usage: hookd <command> [options]",
    "",
    "commands:",
    table(rows),
    "",
    "options:",
    table(COMMON_OPTIONS),
    "",
    "hookd help <command> (or hookd <command> --help) prints a command's usage and options.",
    "",
  ].join("\n");
}

export function commandHelp(command: CommandHelp): string {
  const usage = command.usage.map((line, index) => `${index === 0 ? "usage: " : "       "}hookd ${line}`);
  const lines = [...usage, "", command.summary.charAt(0).toUpperCase() + command.summary.slice(1) + "."];
  if (command.details) lines.push(command.details);
  if (command.options?.length) lines.push("", "options:", table(command.options));
  if (command.remote) lines.push("", "and where hookd is: --url URL, --token TOKEN (see hookd help)");
  return lines.join("\n") + "\n";
}
