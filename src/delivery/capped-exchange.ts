import type { Dispatcher } from "undici";
import { concatBytes } from "../domain/bytes.ts";
import { unrefTimer } from "../unref-timer.ts";

/**
 * One HTTP exchange through an undici dispatcher, with one deadline for all of it and the response
 * body kept up to a size. It drives undici's dispatch handler itself instead of going through
 * `request`: `request` wraps every response body in a Node Readable and every deadline in an
 * AbortSignal with its listeners, which a delivery's 200 with an empty body never needed (issue 12:
 * about a tenth of a drained delivery's CPU went to them).
 */

export type CappedResponse = {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
  /** More came than `cap` bytes: the rest was not read, and the connection was closed. */
  truncated: boolean;
};

export type ExchangeRequest = {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: Uint8Array | undefined;
};

/** The error a request past its deadline ends with: the one AbortSignal.timeout gives, so callers tell it as they did. */
function timeoutError(): DOMException {
  return new DOMException("The operation was aborted due to timeout", "TimeoutError");
}

class BodyCapReached extends Error {}

/** A request this exchange will not make; the code is undici's for an invalid argument, so callers tell it as they did. */
class UnsupportedExchangeError extends Error {
  readonly code = "UND_ERR_INVALID_ARG";
}

/** Collects one response up to `cap` bytes and settles once: answered, cut off at the cap, failed or expired. */
class CappedHandler implements Dispatcher.DispatchHandler {
  #controller: Dispatcher.DispatchController | undefined;
  #settled = false;
  #status = 0;
  #headers: CappedResponse["headers"] = {};
  readonly #chunks: Uint8Array[] = [];
  #size = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly cap: number,
    private readonly resolve: (response: CappedResponse) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  /** Starts the one deadline for all of the exchange. */
  expireAfter(deadlineMs: number): void {
    // As AbortSignal.timeout's: a pending exchange does not hold a stopping process open.
    this.#timer = unrefTimer(setTimeout(() => this.expire(), deadlineMs));
  }

  /** The deadline passed: answered now, and aborted (now, or once undici starts it if it still waits for a connection). */
  expire(): void {
    this.fail(timeoutError());
    this.#controller?.abort(timeoutError());
  }

  fail(error: unknown): void {
    if (this.#settle()) this.reject(error);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#settled) controller.abort(timeoutError());
  }

  /** Only CONNECT or an upgrade request lands here, and cappedExchange refuses both: a socket that got here anyway is closed. */
  onRequestUpgrade(
    _controller: Dispatcher.DispatchController,
    _status: number,
    _headers: CappedResponse["headers"],
    socket: { destroy(): void },
  ): void {
    socket.destroy();
    this.fail(new UnsupportedExchangeError("the receiver switched protocols, which an exchange does not follow"));
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    status: number,
    headers: CappedResponse["headers"],
  ): void {
    this.#status = status;
    this.#headers = headers;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Uint8Array): void {
    const room = this.cap - this.#size;
    if (chunk.length <= room) {
      this.#chunks.push(chunk);
      this.#size += chunk.length;
      return;
    }
    this.#chunks.push(chunk.subarray(0, room));
    this.#answer(true);
    controller.abort(new BodyCapReached(`the response body is larger than ${this.cap} bytes`));
  }

  onResponseEnd(): void {
    this.#answer(false);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(error);
  }

  #answer(truncated: boolean): void {
    if (this.#settle()) {
      this.resolve({ status: this.#status, headers: this.#headers, body: concatBytes(this.#chunks), truncated });
    }
  }

  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    clearTimeout(this.#timer);
    return true;
  }
}

export function cappedExchange(
  dispatcher: Dispatcher,
  request: ExchangeRequest,
  cap: number,
  deadlineMs: number,
): Promise<CappedResponse> {
  const { url, method, headers, body } = request;
  // undici hands a CONNECT's socket over instead of a response: nothing an exchange could record.
  if (method.toUpperCase() === "CONNECT") {
    return Promise.reject(new UnsupportedExchangeError("CONNECT is not a method an exchange makes"));
  }
  return new Promise<CappedResponse>((resolve, reject) => {
    const handler = new CappedHandler(cap, resolve, reject);
    handler.expireAfter(deadlineMs);
    try {
      dispatcher.dispatch(
        {
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: method as Dispatcher.HttpMethod,
          headers,
          body,
        },
        handler,
      );
    } catch (error) {
      handler.fail(error);
    }
  });
}
