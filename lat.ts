import { PathTokens } from "./src/domain/path-tokens.ts";
const rp = process.argv[2]; const rate = Number(process.argv[3]); const n = rate * 5;
const token = await new PathTokens("bench-key-0123456789abcdef").tokenFor("/dispatch");
const accepted = new Map<string, number>(); const start = performance.now(); const ps: Promise<void>[] = [];
for (let i = 0; i < n; i++) {
  const wait = start + (i * 1000) / rate - performance.now(); if (wait > 0) await new Promise(r => setTimeout(r, wait));
  ps.push(fetch(`http://127.0.0.1:18093/dispatch?_url=http%3A%2F%2F127.0.0.1%3A${rp}%2Fx`, { method: "POST", body: `n=r${rate}_${i}`, headers: { authorization: `Bearer ${token}` } }).then(async (r) => { await r.text(); accepted.set(`r${rate}_${i}`, performance.timeOrigin + performance.now()); }));
}
await Promise.all(ps); await new Promise(r => setTimeout(r, 2000));
const arrivals = (await (await fetch(`http://127.0.0.1:${rp}/__stats`)).json()).arrivals;
const l = [...accepted].map(([k, t]) => arrivals[k] - t).filter(x => !Number.isNaN(x)).sort((a, b) => a - b);
console.log(`rate ${rate}/s: n=${l.length} p50 ${l[l.length >> 1].toFixed(1)} p99 ${l[Math.floor(l.length * .99)].toFixed(1)} min ${l[0].toFixed(1)}`);
