import { type Candidate, candidateKey } from "./classify.js";

/**
 * Memory across passes: how many consecutive passes each candidate has been seen exactly as it is
 * now, and when it was first seen. Held in this process only, so a restart starts every count
 * again — the safe direction.
 */

export interface Sighting {
  firstSeen: number;
  passes: number;
}

interface Entry extends Sighting {
  fingerprint: string;
}

export class SightingTracker {
  #entries = new Map<string, Entry>();

  /**
   * Records one completed pass. A candidate not seen in it, or seen with another fingerprint (the
   * object was replaced), starts again from one.
   */
  observe(candidates: readonly Candidate[], now: number): ReadonlyMap<string, Sighting> {
    const next = new Map<string, Entry>();
    for (const candidate of candidates) {
      const key = candidateKey(candidate);
      const before = this.#entries.get(key);
      next.set(
        key,
        before !== undefined && before.fingerprint === candidate.fingerprint
          ? { ...before, passes: before.passes + 1 }
          : { fingerprint: candidate.fingerprint, firstSeen: now, passes: 1 },
      );
    }
    this.#entries = next;
    return next;
  }

  /** Drops one candidate's count (it was removed, or changed under the reconciler's hands). */
  forget(candidate: Candidate): void {
    this.#entries.delete(candidateKey(candidate));
  }

  /** A pass that could not see everything breaks every streak. */
  clear(): void {
    this.#entries.clear();
  }
}
