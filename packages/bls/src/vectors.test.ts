import { describe, expect, it } from 'vitest';
import { createBls } from './api.js';
import { loadBlstBackend } from './backend/blst.js';
import { nobleBackend } from './backend/noble.js';
import {
  expandMessageXmd,
  fromHex,
  g1Generator,
  g1ToEip2537,
  g2ToEip2537,
  hashToFieldFp2,
  hashToG2,
  publicKeyOf,
  secretKeyFromSeed,
  sign,
  toHex,
  verify,
} from './index.js';

// Published vectors only — each copied from its source, none computed here.

const QUUX_G2 = 'QUUX-V01-CS02-with-BLS12381G2_XMD:SHA-256_SSWU_RO_';
const pad = (fp: string) => `${'00'.repeat(16)}${fp}`;

describe('RFC 9380 J.10.1 BLS12381G2_XMD:SHA-256_SSWU_RO_', () => {
  const cases = [
    {
      msg: '',
      // P.x = c0 + I*c1, P.y likewise
      x0: '0141ebfbdca40eb85b87142e130ab689c673cf60f1a3e98d69335266f30d9b8d4ac44c1038e9dcdd5393faf5c41fb78a',
      x1: '05cb8437535e20ecffaef7752baddf98034139c38452458baeefab379ba13dff5bf5dd71b72418717047f5b0f37da03d',
      y0: '0503921d7f6a12805e72940b963c0cf3471c7b2a524950ca195d11062ee75ec076daf2d4bc358c4b190c0c98064fdd92',
      y1: '12424ac32561493f3fe3c260708a12b7c620e7be00099a974e259ddc7d1f6395c3c811cdd19f1e8dbf3e9ecfdcbab8d6',
      u: [
        [
          '03dbc2cce174e91ba93cbb08f26b917f98194a2ea08d1cce75b2b9cc9f21689d80bd79b594a613d0a68eb807dfdc1cf8',
          '05a2acec64114845711a54199ea339abd125ba38253b70a92c876df10598bd1986b739cad67961eb94f7076511b3b39a',
        ],
        [
          '02f99798e8a5acdeed60d7e18e9120521ba1f47ec090984662846bc825de191b5b7641148c0dbc237726a334473eee94',
          '145a81e418d4010cc027a68f14391b30074e89e60ee7a22f87217b2f6eb0c4b94c9115b436e6fa4607e95a98de30a435',
        ],
      ],
    },
    {
      msg: 'abc',
      x0: '02c2d18e033b960562aae3cab37a27ce00d80ccd5ba4b7fe0e7a210245129dbec7780ccc7954725f4168aff2787776e6',
      x1: '139cddbccdc5e91b9623efd38c49f81a6f83f175e80b06fc374de9eb4b41dfe4ca3a230ed250fbe3a2acf73a41177fd8',
      y0: '1787327b68159716a37440985269cf584bcb1e621d3a7202be6ea05c4cfe244aeb197642555a0645fb87bf7466b2ba48',
      y1: '00aa65dae3c8d732d10ecd2c50f8a1baf3001578f71c694e03866e9f3d49ac1e1ce70dd94a733534f106d4cec0eddd16',
      u: null,
    },
  ];
  for (const c of cases) {
    it(`hash_to_curve(${JSON.stringify(c.msg)}) in EIP-2537 encoding`, () => {
      const h = hashToG2(new TextEncoder().encode(c.msg), QUUX_G2);
      expect(toHex(g2ToEip2537(h))).toBe(`0x${pad(c.x0)}${pad(c.x1)}${pad(c.y0)}${pad(c.y1)}`);
    });
    if (c.u) {
      const u = c.u;
      it(`hash_to_field(${JSON.stringify(c.msg)}, 2)`, () => {
        const [u0, u1] = hashToFieldFp2(new TextEncoder().encode(c.msg), QUUX_G2);
        expect(toHex(u0)).toBe(`0x${pad(u[0]?.[0] ?? '')}${pad(u[0]?.[1] ?? '')}`);
        expect(toHex(u1)).toBe(`0x${pad(u[1]?.[0] ?? '')}${pad(u[1]?.[1] ?? '')}`);
      });
    }
  }
});

describe('EIP-2537', () => {
  it('encodes the G1 generator as the published bytes', () => {
    const x =
      '17f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb';
    const y =
      '08b3f481e3aaa0f1a09e30ed741d8ae4fcf5e095d5d00af600db18cb2c04b3edd03cc744a2888ae40caa232946c5e7e1';
    expect(toHex(g1ToEip2537(g1Generator()))).toBe(`0x${pad(x)}${pad(y)}`);
  });
});

describe('EIP-2333 / IETF KeyGen', () => {
  it('derive_master_SK test case 0', () => {
    const seed = fromHex(
      'c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04',
    );
    expect(BigInt(toHex(secretKeyFromSeed(seed)))).toBe(
      6083874454709270928345386274498605044986640685124978867557563392430687146096n,
    );
  });
});

const blst = loadBlstBackend();
if (blst instanceof Error) throw blst;
const backends = [
  { name: 'the active backend', bls: { publicKeyOf, sign, verify } },
  { name: 'noble', bls: createBls(nobleBackend) },
  { name: 'blst', bls: createBls(blst) },
];

describe.each(backends)('Ethereum consensus-spec BLS vectors (same ciphersuite), $name', ({ bls }) => {
  // sign_case_c82df61aa3ee60fb and sign_case_d0e28d7e76eb6e9c
  const sk = fromHex('263dbd792f5b1be47ed85f8938c0f29586af0d3ac7b977f21c278fe1462040e3');
  const pk =
    '0xa491d1b0ecd9bb917989f0e74f0dea0422eac4a873e5e2644f368dffb9a6e20fd6e10c1b77654d067c0618f6e5a7f79a';
  const cases = [
    {
      msg: '00'.repeat(32),
      sig: '0xb6ed936746e01f8ecf281f020953fbf1f01debd5657c4a383940b020b26507f6076334f91e2366c96e9ab279fb5158090352ea1c5b0c9274504f4f0e7053af24802e51e4568d164fe986834f41e55c8e850ce1f98458c0cfc9ab380b55285a55',
    },
    {
      msg: '56'.repeat(32),
      sig: '0x882730e5d03f6b42c3abc26d3372625034e1d871b65a8a6b900a56dae22da98abbe1b68f85e49fe7652a55ec3d0591c20767677e33e5cbb1207315c41a9ac03be39c2e7668edc043d6cb1d9fd93033caa8a1c5b0e84bedaeb6c64972503a43eb',
    },
  ];
  it('public key of the test secret key', () => {
    expect(toHex(bls.publicKeyOf(sk))).toBe(pk);
  });
  for (const c of cases) {
    it(`sign/verify 0x${c.msg.slice(0, 4)}…`, () => {
      expect(toHex(bls.sign(sk, fromHex(c.msg)))).toBe(c.sig);
      expect(bls.verify(fromHex(pk), fromHex(c.msg), fromHex(c.sig))).toBe(true);
    });
  }
});

describe('RFC 9380 K.1 expand_message_xmd(SHA-256)', () => {
  const dst = 'QUUX-V01-CS02-with-expander-SHA256-128';
  it('len 0x20', () => {
    expect(toHex(expandMessageXmd(new Uint8Array(0), dst, 0x20))).toBe(
      '0x68a985b87eb6b46952128911f2a4412bbc302a9d759667f87f7a21d803f07235',
    );
    expect(toHex(expandMessageXmd(new TextEncoder().encode('abc'), dst, 0x20))).toBe(
      '0xd8ccab23b5985ccea865c6c97b6e5b8350e794e603b4b97902f53a8a0d605615',
    );
  });
});
