export type { Share, ShareVerdicts } from './api.js';
export { type BlsBackendInfo, blsBackend, blsBackendInfo } from './backend/select.js';
export type { BlsBackendName } from './backend/types.js';
export {
  G1_COMPRESSED_LENGTH as PUBLIC_KEY_LENGTH,
  G2_COMPRESSED_LENGTH as SIGNATURE_LENGTH,
  SECRET_KEY_LENGTH,
} from './curve.js';
export {
  EIP2537_FP_LENGTH,
  EIP2537_FP2_LENGTH,
  EIP2537_G1_LENGTH,
  EIP2537_G2_LENGTH,
  g1FromEip2537,
  g1Generator,
  g1Negate,
  g1ToEip2537,
  g2FromEip2537,
  g2ToEip2537,
} from './eip2537.js';
export { BlsError, type BlsErrorCode } from './errors.js';
export {
  DST_POP,
  DST_SIGNATURE,
  type Dst,
  expandMessageXmd,
  g2Eip2537FromMessage,
  hashToFieldFp2,
  hashToG2,
  mapFp2ToG2Eip2537,
} from './hash.js';
export { fromHex, type Hex, toHex } from './hex.js';
export { generateSecretKey, MIN_SEED_LENGTH, secretKeyFromSeed } from './keys.js';
export {
  aggregatePublicKeys,
  aggregateSignatures,
  provePossession,
  publicKeyOf,
  sign,
  verify,
  verifyAggregate,
  verifyPossession,
  verifyShares,
} from './signatures.js';

/** The ciphersuite this package implements. */
export const CIPHERSUITE = 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_';
export { type BlsKeyConfig, blsKeyConfigSchema, loadBlsSecretKey } from './key-file.js';
export {
  decryptSecretKey,
  type Eip2335Keystore,
  encryptSecretKey,
  type KeystoreOptions,
} from './keystore.js';
