import { ConfigError } from '@whitepay/base';
import { type BusIdentity, busIdentityOf } from '@whitepay/bus';
import { loadAccountKey, remoteSignerAccount } from '@whitepay/ecdsa';
import type { Address, Hex, LocalAccount } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { CONFIG_PREFIX, type Config } from './config.js';

type KeyConfig = Pick<
  Config,
  | 'privateKey'
  | 'keystoreFile'
  | 'keystorePasswordFile'
  | 'signerUrl'
  | 'signerAddress'
  | 'signerToken'
  | 'natsSigningKey'
  | 'natsSigner'
>;

/**
 * The transaction account and the bus identity, from one read of the key: the
 * bus key is `NATS_SIGNING_KEY`, else the local account key. A remote signer
 * signs transactions only, so with `SIGNER_URL` the bus key must be named.
 */
export async function loadKeys(config: KeyConfig): Promise<{ account: LocalAccount; bus: BusIdentity }> {
  if (config.signerUrl !== undefined) {
    if (config.natsSigningKey === undefined)
      throw new ConfigError(
        `invalid configuration: ${CONFIG_PREFIX}_SIGNER_URL signs transactions only: set ${CONFIG_PREFIX}_NATS_SIGNING_KEY (the keeper's bus key) to sign block headers`,
        { problems: [`${CONFIG_PREFIX}_NATS_SIGNING_KEY: required with SIGNER_URL`] },
      );
    return {
      account: await transactionAccount(config),
      bus: busIdentityOf(config, { prefix: CONFIG_PREFIX }),
    };
  }
  const key: Hex = await loadAccountKey(config);
  return {
    account: privateKeyToAccount(key),
    bus: busIdentityOf(config, { accountKey: key, prefix: CONFIG_PREFIX }),
  };
}

/**
 * The account the chain-submitter sends from, from exactly one source: a
 * remote signer (`SIGNER_URL` + `SIGNER_ADDRESS`: the key never enters this
 * process), a V3 keystore with its passphrase file (`KEYSTORE_FILE`), or the
 * key as hex (`PRIVATE_KEY` or `PRIVATE_KEY_FILE`).
 */
export async function transactionAccount(
  config: Pick<
    Config,
    'privateKey' | 'keystoreFile' | 'keystorePasswordFile' | 'signerUrl' | 'signerAddress' | 'signerToken'
  >,
): Promise<LocalAccount> {
  if (config.signerUrl !== undefined) {
    if (config.privateKey !== undefined || config.keystoreFile !== undefined)
      throw new ConfigError('CHAIN_SUBMITTER_SIGNER_URL excludes PRIVATE_KEY and KEYSTORE_FILE', {
        problems: ['CHAIN_SUBMITTER_SIGNER_URL: set with a local key'],
      });
    if (config.signerAddress === undefined)
      throw new ConfigError('CHAIN_SUBMITTER_SIGNER_URL needs CHAIN_SUBMITTER_SIGNER_ADDRESS', {
        problems: ['CHAIN_SUBMITTER_SIGNER_ADDRESS: required with SIGNER_URL'],
      });
    return remoteSignerAccount({
      url: config.signerUrl,
      address: config.signerAddress as Address,
      token: config.signerToken,
    });
  }
  return privateKeyToAccount(await loadAccountKey(config));
}
