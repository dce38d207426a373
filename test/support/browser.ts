import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

/** Debian's chromium, headless, driven by playwright-core: the console's tests see what a person sees. */

export const CHROMIUM = "/usr/bin/chromium";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export type TestBrowser = { context: BrowserContext; newPage(): Promise<Page>; close(): Promise<void> };

/** A browser with a fresh profile (its own --user-data-dir), removed on close. */
export async function startBrowser(
  options: { colorScheme?: "light" | "dark"; width?: number } = {},
): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), "hookd-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    colorScheme: options.colorScheme ?? "light",
    viewport: { width: options.width ?? 1280, height: 900 },
  });
  // Every confirmation the console asks for is accepted, as a person who clicked the button would.
  context.on("page", (page) => page.on("dialog", (dialog) => void dialog.accept()));
  return {
    context,
    async newPage() {
      const page = await context.newPage();
      return page;
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Signs in through the form, as a person would. */
export async function signIn(page: Page, base: string, token: string): Promise<void> {
  await page.goto(`${base}/console/sign-in`);
  await page.fill("#token", token);
  await Promise.all([page.waitForURL(/\/console\/deliveries/), page.click("button[type=submit]")]);
}
