/** How long bench/dispatch loads each measured phase (BENCH_SECONDS, default 10). */
export const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

/** The first seconds after a start are slow (JIT, lazily compiled modules, connection pools filling): a latency phase runs this long first, not counted. */
export const WARMUP_SECONDS = 5;
