import { ConfigError } from '@whitepay/base';
import { loadAccountKey, remoteSignerAccount } from '@whitepay/ecdsa';
import type { Address, LocalAccount } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { Config } from './config.js';

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
