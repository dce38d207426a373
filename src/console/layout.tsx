import type { Child } from "hono/jsx";
import { raw } from "hono/html";
import { CONSOLE_PATH, CSRF_HEADER } from "./session.ts";

/** The page shell every console page shares: its head (htmx's config as a meta tag, no script inline), the menu. */

const HTMX_CONFIG = JSON.stringify({
  allowEval: false,
  allowScriptTags: false,
  includeIndicatorStyles: false,
  selfRequestsOnly: true,
  historyCacheSize: 0,
});

export const asset = (name: string) => `${CONSOLE_PATH}/assets/${name}`;

const MENU = [
  ["deliveries", "Deliveries"],
  ["subscriptions", "Subscriptions"],
  ["topics", "Topics"],
  ["fleet", "Fleet"],
] as const;

export type PageProps = {
  title: string;
  csrf?: string;
  section?: string;
  children?: Child;
  scripts?: string[];
  styles?: string[];
};

export function Page({ title, csrf, section, children, scripts = [], styles = [] }: PageProps) {
  return (
    <>
      {raw("<!DOCTYPE html>")}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="color-scheme" content="light dark" />
          <meta name="htmx-config" content={HTMX_CONFIG} />
          <title>{`${title} · hookd console`}</title>
          <link rel="stylesheet" href={asset("console.css")} />
          {styles.map((name) => <link rel="stylesheet" href={asset(name)} />)}
          <script src={asset("htmx.min.js")} defer></script>
          <script src={asset("htmx-sse.js")} defer></script>
          <script src={asset("console.js")} defer></script>
          {scripts.map((name) => <script src={asset(name)} defer></script>)}
        </head>
        <body hx-headers={csrf ? JSON.stringify({ [CSRF_HEADER]: csrf }) : undefined}>
          <header class="top">
            <a class="brand" href={`${CONSOLE_PATH}/deliveries`}>hookd</a>
            {csrf
              ? (
                <nav>
                  {MENU.map(([path, label]) => (
                    <a href={`${CONSOLE_PATH}/${path}`} aria-current={section === path ? "page" : undefined}>{label}</a>
                  ))}
                  <form method="post" action={`${CONSOLE_PATH}/sign-out`} class="inline">
                    <input type="hidden" name="_csrf" value={csrf} />
                    <button type="submit" class="link">Sign out</button>
                  </form>
                </nav>
              )
              : null}
          </header>
          <main>{children}</main>
        </body>
      </html>
    </>
  );
}

/** A time as its ISO text in a <time>, which console.js shows in the reader's own zone. */
export function Time({ at }: { at: string | null }) {
  return at ? <time datetime={at}>{at.replace("T", " ")}</time> : <span>—</span>;
}

export function StateBadge({ state }: { state: string }) {
  return <span class={`badge s-${state}`} data-badge-state={state}>{state}</span>;
}
