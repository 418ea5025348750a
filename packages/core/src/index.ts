export { UINT8_MAX, UINT32_MAX, UINT64_MAX, UINT128_MAX, UINT256_MAX } from './abi.js';
export * from './batch.js';
export * from './errors.js';
export * from './idle.js';
export * from './round.js';
/** @deprecated The round id of a list: {@link roundId}. Kept for services/chain-submitter until it moves to `roundId`. */
export * from './schedule.js';
export * from './spacetime.js';
export * from './split.js';
export { type TidInput, tid, tidPosition } from './tid.js';
export * from './tolerance.js';
