export * from './challenge-records.js';
export * from './codec.js';
export * from './config.js';
export {
  closePool,
  createPool,
  type Pool,
  type PoolOptions,
  ping,
  type Queryable,
  withTransaction,
} from './db.js';
export * from './errors.js';
export * from './migrate.js';
export * from './partitions.js';
export * from './peer-records.js';
export * from './piece-request.js';
export * from './pieces.js';
export type {
  InsertMethod,
  InsertResult,
  RangePage,
  RangeQuery,
  RecordRow,
  StoredRecord,
} from './record-rows.js';
export { validateRecord } from './record-rows.js';
export * from './space-time.js';
export * from './vouches.js';
