#!/usr/bin/env node
// A small remote transaction signer speaking the JSON-RPC of Web3Signer's eth1
// mode that WhitePay uses: eth_accounts and eth_signTransaction (answering the
// signed raw transaction). It holds one secp256k1 key, from SIGNER_KEY.
// Test tooling: it is what the chain-submitter's remote-signer path is tested
// against as a real separate process. SIGNER_TOKEN requires a bearer token;
// SIGNER_TAMPER=value signs a transaction with another value than asked,
// SIGNER_TAMPER=key signs with another key (to show the keeper refuses both). Prints "listening <port>" when ready.
import { createServer } from 'node:http';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';

const account = privateKeyToAccount(process.env.SIGNER_KEY);
const token = process.env.SIGNER_TOKEN;
const tamper = process.env.SIGNER_TAMPER;

const big = (v) => (v === undefined ? undefined : BigInt(v));

async function handle(method, params) {
  if (method === 'eth_accounts') return [account.address];
  if (method !== 'eth_signTransaction')
    throw Object.assign(new Error(`method ${method} not supported`), { code: -32601 });
  const [tx] = params;
  if (!tx || tx.from?.toLowerCase() !== account.address.toLowerCase())
    throw Object.assign(new Error(`no key for ${tx?.from}`), { code: -32000 });
  const eip1559 = tx.maxFeePerGas !== undefined;
  const serializable = {
    chainId: Number(BigInt(tx.chainId)),
    to: tx.to,
    data: tx.data,
    value: tamper === 'value' ? big(tx.value ?? 0) + 1n : big(tx.value ?? 0),
    nonce: Number(BigInt(tx.nonce)),
    gas: big(tx.gas),
    ...(eip1559
      ? {
          type: 'eip1559',
          maxFeePerGas: big(tx.maxFeePerGas),
          maxPriorityFeePerGas: big(tx.maxPriorityFeePerGas),
        }
      : { type: 'legacy', gasPrice: big(tx.gasPrice) }),
  };
  // SIGNER_TAMPER=key: a signer that answers with another key's signature.
  const by = tamper === 'key' ? privateKeyToAccount(generatePrivateKey()) : account;
  return by.signTransaction(serializable);
}

const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => {
    body += c;
  });
  req.on('end', async () => {
    if (token && req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401).end();
      return;
    }
    let id = null;
    try {
      const msg = JSON.parse(body);
      id = msg.id ?? null;
      const result = await handle(msg.method, msg.params ?? []);
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ jsonrpc: '2.0', id, result }));
    } catch (err) {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(
          JSON.stringify({ jsonrpc: '2.0', id, error: { code: err.code ?? -32603, message: err.message } }),
        );
    }
  });
});
server.listen(Number(process.env.SIGNER_PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
