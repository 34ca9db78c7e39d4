/** The emulator's clock: every iat, exp and expiry decision uses it, and tests move it. */
export interface Clock {
  now(): number;
  advance(seconds: number): void;
  set(epochMs: number): void;
}

export function createClock(start = Date.now()): Clock {
  let offset = start - Date.now();
  return {
    now: () => Date.now() + offset,
    advance(seconds) {
      offset += seconds * 1000;
    },
    set(epochMs) {
      offset = epochMs - Date.now();
    },
  };
}
