// Reconnecting after a network loss: randomized exponential backoff, so that many tabs that
// lost the same server do not come back in lockstep.

/** Delay before reconnect attempt `attempt` (1-based), in ms: 1 s, 2 s, 4 s … capped, ±50 %. */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 1000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.5 + random()));
}
