// EIP-2335 test vectors (https://eips.ethereum.org/EIPS/eip-2335#test-cases: the *-1 cases; the *-0 cases are the draft's ASCII-passphrase ones), as ChainSafe/bls-keystore tests them.
export const EIP2335_VECTORS = [
  {
    crypto: {
      kdf: {
        function: 'scrypt',
        params: {
          dklen: 32,
          n: 262144,
          p: 1,
          r: 8,
          salt: 'd4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3',
        },
        message: '',
      },
      checksum: {
        function: 'sha256',
        params: {},
        message: '149aafa27b041f3523c53d7acba1905fa6b1c90f9fef137568101f44b531a3cb',
      },
      cipher: {
        function: 'aes-128-ctr',
        params: {
          iv: '264daa3f303d7259501c93d997d84fe6',
        },
        message: '54ecc8863c0550351eee5720f3be6a5d4a016025aa91cd6436cfec938d6a8d30',
      },
    },
    pubkey:
      '9612d7a727c9d0a22e185a1c768478dfe919cada9266988cb32359c11f2b7b27f4ae4040902382ae2910c15e2b420d07',
    path: 'm/12381/60/3141592653/589793238',
    uuid: '1d85ae20-35c5-4611-98e8-aa14a633906f',
    version: 4,
    password: 'testpassword',
    secret: '0x000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f',
    name: 'scrypt-0',
  },
  {
    crypto: {
      kdf: {
        function: 'pbkdf2',
        params: {
          dklen: 32,
          c: 262144,
          prf: 'hmac-sha256',
          salt: 'd4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3',
        },
        message: '',
      },
      checksum: {
        function: 'sha256',
        params: {},
        message: '18b148af8e52920318084560fd766f9d09587b4915258dec0676cba5b0da09d8',
      },
      cipher: {
        function: 'aes-128-ctr',
        params: {
          iv: '264daa3f303d7259501c93d997d84fe6',
        },
        message: 'a9249e0ca7315836356e4c7440361ff22b9fe71e2e2ed34fc1eb03976924ed48',
      },
    },
    pubkey:
      '9612d7a727c9d0a22e185a1c768478dfe919cada9266988cb32359c11f2b7b27f4ae4040902382ae2910c15e2b420d07',
    path: 'm/12381/60/0/0',
    uuid: '64625def-3331-4eea-ab6f-782f3ed16a83',
    version: 4,
    password: 'testpassword',
    secret: '0x000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f',
    name: 'pbkdf2-0',
  },
  {
    crypto: {
      kdf: {
        function: 'scrypt',
        params: {
          dklen: 32,
          n: 262144,
          p: 1,
          r: 8,
          salt: 'd4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3',
        },
        message: '',
      },
      checksum: {
        function: 'sha256',
        params: {},
        message: 'd2217fe5f3e9a1e34581ef8a78f7c9928e436d36dacc5e846690a5581e8ea484',
      },
      cipher: {
        function: 'aes-128-ctr',
        params: {
          iv: '264daa3f303d7259501c93d997d84fe6',
        },
        message: '06ae90d55fe0a6e9c5c3bc5b170827b2e5cce3929ed3f116c2811e6366dfe20f',
      },
    },
    description: 'This is a test keystore that uses scrypt to secure the secret.',
    pubkey:
      '9612d7a727c9d0a22e185a1c768478dfe919cada9266988cb32359c11f2b7b27f4ae4040902382ae2910c15e2b420d07',
    path: 'm/12381/60/3141592653/589793238',
    uuid: '1d85ae20-35c5-4611-98e8-aa14a633906f',
    version: 4,
    password: '𝔱𝔢𝔰𝔱𝔭𝔞𝔰𝔰𝔴𝔬𝔯𝔡🔑',
    secret: '0x000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f',
    name: 'scrypt-1',
  },
  {
    crypto: {
      kdf: {
        function: 'pbkdf2',
        params: {
          dklen: 32,
          c: 262144,
          prf: 'hmac-sha256',
          salt: 'd4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3',
        },
        message: '',
      },
      checksum: {
        function: 'sha256',
        params: {},
        message: '8a9f5d9912ed7e75ea794bc5a89bca5f193721d30868ade6f73043c6ea6febf1',
      },
      cipher: {
        function: 'aes-128-ctr',
        params: {
          iv: '264daa3f303d7259501c93d997d84fe6',
        },
        message: 'cee03fde2af33149775b7223e7845e4fb2c8ae1792e5f99fe9ecf474cc8c16ad',
      },
    },
    description: 'This is a test keystore that uses PBKDF2 to secure the secret.',
    pubkey:
      '9612d7a727c9d0a22e185a1c768478dfe919cada9266988cb32359c11f2b7b27f4ae4040902382ae2910c15e2b420d07',
    path: 'm/12381/60/0/0',
    uuid: '64625def-3331-4eea-ab6f-782f3ed16a83',
    version: 4,
    password: '𝔱𝔢𝔰𝔱𝔭𝔞𝔰𝔰𝔴𝔬𝔯𝔡🔑',
    secret: '0x000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f',
    name: 'pbkdf2-1',
  },
] as const;
