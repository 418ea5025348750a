// Re-exports of the generated protobuf code, one namespace per proto package.
export * as challengeV1 from './generated/whitepay/challenge/v1/record.js';
export * as commonV1 from './generated/whitepay/common/v1/common.js';
export * as keeperV1 from './generated/whitepay/keeper/v1/keeper.js';
export * as providerV1 from './generated/whitepay/provider/v1/provider.js';
export * as stV1 from './generated/whitepay/st/v1/st.js';
export * as storeV1 from './generated/whitepay/store/v1/store.js';
