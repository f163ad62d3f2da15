/*
 * FSx for Lustre PERSISTENT_2 sizes, as the FSx API accepts them: read by the storage construct (which refuses
 * other values at synth) and by the planner (which sizes a file system for a run). Pure data.
 */

/** PERSISTENT_2 SSD throughput tiers, MB/s per TiB of storage. */
export const PERSISTENT_2_PER_UNIT_THROUGHPUTS: readonly number[] = [125, 250, 500, 1000];

/** The smallest PERSISTENT_2 capacity, GiB; the next is PERSISTENT_2_CAPACITY_STEP_GIB. */
export const PERSISTENT_2_MIN_CAPACITY_GIB = 1200;
/** PERSISTENT_2 capacities above the smallest are multiples of this, GiB. */
export const PERSISTENT_2_CAPACITY_STEP_GIB = 2400;

/** EFA-enabled capacity steps by per-unit throughput, GiB (FSx for Lustre EFA docs). */
export const EFA_CAPACITY_STEP_GIB: Readonly<Record<number, number>> = { 125: 38400, 250: 19200, 500: 9600, 1000: 4800 };

/** A valid PERSISTENT_2 capacity (without EFA): 1200, 2400, then steps of 2400 GiB. */
export function isPersistent2Capacity(gib: number): boolean {
  return gib === PERSISTENT_2_MIN_CAPACITY_GIB
    || (gib >= PERSISTENT_2_CAPACITY_STEP_GIB && gib % PERSISTENT_2_CAPACITY_STEP_GIB === 0);
}

/** The smallest valid PERSISTENT_2 capacity of at least `gib`. */
export function persistent2CapacityAtLeast(gib: number): number {
  return gib <= PERSISTENT_2_MIN_CAPACITY_GIB ? PERSISTENT_2_MIN_CAPACITY_GIB
    : Math.ceil(gib / PERSISTENT_2_CAPACITY_STEP_GIB) * PERSISTENT_2_CAPACITY_STEP_GIB;
}

/** The next PERSISTENT_2 capacity above a valid one. */
export function nextPersistent2Capacity(gib: number): number {
  return gib === PERSISTENT_2_MIN_CAPACITY_GIB ? PERSISTENT_2_CAPACITY_STEP_GIB : gib + PERSISTENT_2_CAPACITY_STEP_GIB;
}

/** The PERSISTENT_2 capacity below a valid one; undefined below the smallest. */
export function previousPersistent2Capacity(gib: number): number | undefined {
  if (gib <= PERSISTENT_2_MIN_CAPACITY_GIB) return undefined;
  return gib === PERSISTENT_2_CAPACITY_STEP_GIB ? PERSISTENT_2_MIN_CAPACITY_GIB : gib - PERSISTENT_2_CAPACITY_STEP_GIB;
}
