/**
 * The console as a bench reaches it without a browser: a session cookie from its sign-in form, pages
 * fetched with it, and its live streams read as SSE frames (each an `event:` and its `data:`).
 */

export type ConsoleSession = { base: string; cookie: string };

/** Signs in with `token` through the console's own form; the session is the cookie it sets. */
export async function signInToConsole(base: string, token: string): Promise<ConsoleSession> {
  const response = await fetch(`${base}/console/sign-in`, {
    method: "POST",
    body: new URLSearchParams({ token }),
    redirect: "manual",
  });
  const cookie = response.headers.get("set-cookie")?.split(";")[0];
  if (response.status !== 303 || !cookie) throw new Error(`console sign-in refused: ${response.status}`);
  return { base, cookie };
}

/** A console page read in full; throws unless it answered 200 (a redirect means no session). */
export async function consolePage(session: ConsoleSession, path: string): Promise<string> {
  const response = await fetch(`${session.base}${path}`, { headers: { cookie: session.cookie }, redirect: "manual" });
  const html = await response.text();
  if (response.status !== 200) throw new Error(`${path}: ${response.status}`);
  return html;
}

export type SseFrame = { event: string; data: string };

/**
 * Opens one of the console's live streams and hands over each frame as it completes (comments, the
 * keepalives, are skipped); resolves once the server answered, to how to close it.
 */
export async function openConsoleStream(
  session: ConsoleSession,
  path: string,
  onFrame: (frame: SseFrame, bytes: number) => void,
): Promise<() => void> {
  const abort = new AbortController();
  const response = await fetch(`${session.base}${path}`, {
    headers: { cookie: session.cookie, accept: "text/event-stream" },
    signal: abort.signal,
  });
  if (!response.ok || !response.body) throw new Error(`${path}: ${response.status}`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  void (async () => {
    // A frame may arrive split over several chunks: keep what follows the last blank line.
    let buffered = "";
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      buffered += decoder.decode(value, { stream: true });
      const blocks = buffered.split("\n\n");
      buffered = blocks.pop()!;
      for (const block of blocks) {
        const lines = block.split("\n");
        const event = lines.find((line) => line.startsWith("event:"))?.slice(6).trim();
        if (!event) continue;
        const data = lines.filter((line) => line.startsWith("data:")).map((line) => line.slice(5).trimStart()).join(
          "\n",
        );
        onFrame({ event, data }, block.length + 2);
      }
    }
  })();
  return () => abort.abort();
}
