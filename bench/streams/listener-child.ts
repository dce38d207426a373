import { type ChildProcess, fork } from "node:child_process";
import { stopProcess } from "../../test/support/processes.ts";
import { now } from "./settings.ts";
import type { FromListeners, ToListeners } from "./sse-listeners.ts";

/** bench/streams' handle on one child process holding some of the listeners (sse-listeners.ts), over IPC. */

export class ListenerChild {
  readonly child: ChildProcess;
  readonly #waiting: { resolve: (message: FromListeners) => void; reject: (error: Error) => void }[] = [];
  offsetMs = 0;
  rttMs = 0;

  constructor() {
    this.child = fork(new URL("./sse-listeners.ts", import.meta.url).pathname, [], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child.on("message", (message: FromListeners) => this.#waiting.shift()?.resolve(message));
    this.child.on("exit", (code, signal) => {
      for (const waiter of this.#waiting.splice(0)) {
        waiter.reject(new Error(`a listener process exited (${code ?? signal})`));
      }
    });
  }

  post(message: ToListeners): void {
    if (this.child.connected) this.child.send(message);
  }

  ask<T extends FromListeners>(message: ToListeners, timeoutMs = 60_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`a listener process did not answer "${message.type}" within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#waiting.push({
        resolve: (answer) => {
          clearTimeout(timer);
          resolve(answer as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.post(message);
    });
  }

  /** Estimates this child's clock minus ours from the IPC round trip with the smallest delay. */
  async syncClock(rounds = 30): Promise<void> {
    let best = Infinity;
    for (let i = 0; i < rounds; i++) {
      const t = now();
      const pong = await this.ask<Extract<FromListeners, { type: "pong" }>>({ type: "ping", t });
      const back = now();
      if (back - t < best) {
        best = back - t;
        this.offsetMs = pong.now - (t + back) / 2;
        this.rttMs = best;
      }
    }
  }

  async close(): Promise<void> {
    this.post({ type: "close" });
    await stopProcess(this.child, 3_000);
  }
}
