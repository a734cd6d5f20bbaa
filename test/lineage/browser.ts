import { existsSync } from "node:fs";
import { type Browser, type BrowserServer, chromium } from "playwright-core";

/** Debian's Chromium (.ci/install.d/20-chromium.sh); playwright never downloads a browser here. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** A headless Chromium of our own, whose process is ended by `close()` whatever state it is in. */
export interface HeadlessBrowser {
  browser: Browser;
  pid: number | undefined;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<HeadlessBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: run .ci/install.d/20-chromium.sh`);
  const server: BrowserServer = await chromium.launchServer({
    executablePath: CHROMIUM,
    headless: true,
    // Tests run as root, where Chromium's sandbox cannot start; the page is our own.
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  const pid = server.process().pid;
  let browser: Browser;
  try {
    browser = await chromium.connect(server.wsEndpoint());
  } catch (err) {
    server.process().kill("SIGKILL");
    throw err;
  }
  return {
    browser,
    pid,
    close: async () => {
      await browser.close().catch(() => {});
      await Promise.race([server.close(), new Promise((resolve) => setTimeout(resolve, 10_000))]);
      // Our own browser's process only, by its pid, if closing did not end it.
      if (server.process().exitCode === null && server.process().signalCode === null) {
        server.process().kill("SIGKILL");
      }
    },
  };
}

/** Whether a process is still there (signal 0 only asks). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
