import type { Settings } from "./settings.js";

/**
 * What an exec costs on real RouterOS besides the work itself, so benchmarks against the emulator
 * are not optimistic: a fixed latency per command, and the aggregate request throttle measured on
 * RouterOS 7.23 over its API — about 1 ms per request until a burst of roughly 120–220 requests,
 * then about 20 ms each. The throttle is a token bucket shared by every session: it holds
 * `cost_throttle_burst` tokens and refills one per `cost_throttle_slow_ms`; a request that finds a
 * token waits `cost_throttle_fast_ms`, one that finds none waits for its turn in the refill (the
 * debt of the requests before it included). All off (0) by default.
 */
export class CostModel {
  #tokens: number | undefined;
  #refilledAt = 0;

  /** How long this request waits before it runs (ms), given the settings now. */
  delayFor(settings: Settings, now = Date.now()): number {
    const latency = settings.cost_command_latency_ms;
    const burst = settings.cost_throttle_burst;
    if (burst === 0) {
      this.#tokens = undefined;
      return latency;
    }
    const slow = settings.cost_throttle_slow_ms;
    const tokens = this.#tokens ?? burst;
    const refilled = slow > 0 ? (now - this.#refilledAt) / slow : burst;
    this.#refilledAt = now;
    // Debt (negative tokens) is what requests already admitted still have to wait for.
    const available = Math.min(burst, tokens + (this.#tokens === undefined ? 0 : refilled));
    this.#tokens = available - 1;
    const wait = this.#tokens >= 0 ? settings.cost_throttle_fast_ms : -this.#tokens * slow;
    return latency + wait;
  }
}
