// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/**
 * @title BLS12381
 * @notice BLS signatures over BLS12-381 (public keys in G1, signatures in G2) verified with the
 * EIP-2537 precompiles, plus hash-to-G2 per RFC 9380 (`expand_message_xmd` with SHA-256,
 * `hash_to_field` producing two Fp2 elements, the SSWU map of the precompile twice, one G2 addition).
 *
 * Points use the EIP-2537 encodings: a G1 point is 128 bytes (x ‖ y), a G2 point 256 bytes
 * (x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1), each field element left-padded with zeros to 64 bytes.
 *
 * Every function reverts with {BLS12381PrecompileFailed} when a precompile refuses its input (a point
 * not on the curve or outside the subgroup, a bad encoding); callers that verify untrusted data turn
 * that into their own domain error by checking inputs first or catching at their level. {verify} instead
 * returns false for every input it refuses: wrong lengths, the identity (point at infinity) as key or as
 * signature, and whatever the pairing precompile rejects. Hashing refuses a domain separation tag that is
 * empty or longer than 255 bytes ({BLS12381InvalidDst}; RFC 9380 sections 3.1 and 5.3.1).
 */
library BLS12381 {
    /// @dev EIP-2537 precompile addresses (Prague).
    address internal constant G1_ADD = address(0x0b);
    address internal constant G2_ADD = address(0x0d);
    address internal constant PAIRING_CHECK = address(0x0f);
    address internal constant MAP_FP2_TO_G2 = address(0x11);
    /// @dev Pre-Byzantium precompiles used by hash-to-field.
    address internal constant SHA256 = address(0x02);
    address internal constant MODEXP = address(0x05);

    /// @dev The base field modulus p, 381 bits, as two words of a 64-byte big-endian value.
    uint256 private constant P_HI = 0x000000000000000000000000000000001a0111ea397fe69a4b1ba7b6434bacd7;
    uint256 private constant P_LO = 0x64774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab;

    /// @dev (p - 1) / 2 split the same way: y is the "larger" square root iff y > (p - 1) / 2.
    uint256 private constant HALF_P_HI = 0x000000000000000000000000000000000d0088f51cbff34d258dd3db21a5d66b;
    uint256 private constant HALF_P_LO = 0xb23ba5c279c2895fb39869507b587b120f55ffff58a9ffffdcff7fffffffd555;

    /// @dev The negated generator of G1, -G1 = (x, p - y), in EIP-2537 form (four words).
    uint256 private constant NEG_G1_X_HI = 0x0000000000000000000000000000000017f1d3a73197d7942695638c4fa9ac0f;
    uint256 private constant NEG_G1_X_LO = 0xc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb;
    uint256 private constant NEG_G1_Y_HI = 0x00000000000000000000000000000000114d1d6855d545a8aa7d76c8cf2e21f2;
    uint256 private constant NEG_G1_Y_LO = 0x67816aef1db507c96655b9d5caac42364e6f38ba0ecb751bad54dcd6b939c2ca;

    /// @dev A precompile call failed (invalid point, encoding or subgroup) or returned a short output.
    error BLS12381PrecompileFailed(address precompile);

    /// @dev A domain separation tag must be 1 to 255 bytes (RFC 9380: tags have nonzero length, and
    /// `expand_message_xmd` aborts on a longer one instead of truncating its length byte).
    error BLS12381InvalidDst(uint256 length);

    /**
     * @notice Verifies a BLS signature: `e(pk, H(message)) == e(G1, signature)`, checked as the single
     * pairing product `e(pk, H(m)) · e(-G1, signature) == 1`.
     * @param pk the (aggregate) public key, 128 bytes, already a valid subgroup point or rejected by
     * the pairing precompile; the identity is refused.
     * @param hm the message hashed to G2 (see {hashToG2}), 256 bytes.
     * @param signature the (aggregate) signature, 256 bytes; the identity is refused.
     * @return ok false when an input has the wrong length, when the key or the signature is the identity
     * (with both the identity the pairing product is one for every message: `e(O, H(m)) · e(-G1, O) = 1`),
     * when the precompile rejects an input (e.g. a signature outside the G2 subgroup) or when the pairing
     * product is not one.
     */
    function verify(bytes memory pk, bytes memory hm, bytes memory signature) internal view returns (bool ok) {
        if (pk.length != 128 || hm.length != 256 || signature.length != 256) return false;
        if (_isZero(pk) || _isZero(signature)) return false;
        bytes memory input = new bytes(768);
        assembly ("memory-safe") {
            let dst := add(input, 0x20)
            mcopy(dst, add(pk, 0x20), 128)
            mcopy(add(dst, 128), add(hm, 0x20), 256)
            mstore(add(dst, 384), NEG_G1_X_HI)
            mstore(add(dst, 416), NEG_G1_X_LO)
            mstore(add(dst, 448), NEG_G1_Y_HI)
            mstore(add(dst, 480), NEG_G1_Y_LO)
            mcopy(add(dst, 512), add(signature, 0x20), 256)
            // Scratch space (0x00) receives the 32-byte boolean result.
            let success := staticcall(gas(), 0x0f, dst, 768, 0x00, 0x20) // PAIRING_CHECK
            ok := and(and(success, eq(returndatasize(), 0x20)), eq(mload(0x00), 1))
        }
    }

    /**
     * @notice Hashes `message` to a G2 point per RFC 9380 (`hash_to_curve`, random-oracle variant):
     * two field elements from `expand_message_xmd`, each mapped with MAP_FP2_TO_G2 (which also clears
     * the cofactor; clearing is linear, so the sum of the cleared points is the cleared sum), then added.
     * @dev Gas: one scratch buffer past the free memory pointer for every precompile call (MODEXP input
     * header and modulus written once, the four reductions written into the two Fp2 inputs of the map, the
     * two mapped points side by side for G2ADD); no allocation but the 256-byte result.
     * @param message the bytes to hash.
     * @param dst the domain separation tag, 1 to 255 bytes (else {BLS12381InvalidDst}).
     * @return point the G2 point, 256 bytes in EIP-2537 form.
     */
    function hashToG2(bytes memory message, bytes memory dst) internal view returns (bytes memory point) {
        bytes memory uniform = expandMessageXmd(message, dst);
        point = new bytes(256);
        address failed;
        assembly ("memory-safe") {
            // Scratch past the free pointer (not allocated): [0x000, 0x0e1) MODEXP input Bsize ‖ Esize ‖ Msize ‖
            // B(64) ‖ E(1) ‖ M(64); [0x100, 0x180) u = one Fp2 (two reduced chunks); [0x180, 0x380) q0 ‖ q1.
            let buf := mload(0x40)
            mstore(buf, 64)
            mstore(add(buf, 0x20), 1)
            mstore(add(buf, 0x40), 64)
            mstore8(add(buf, 0xa0), 1)
            mstore(add(buf, 0xa1), P_HI)
            mstore(add(buf, 0xc1), P_LO)
            let src := add(uniform, 0x20)
            // Each call's success and output size are checked after it (Yul evaluates arguments right to
            // left, so `returndatasize()` must not sit beside the call); the first failing precompile is kept.
            for { let i := 0 } lt(i, 4) { i := add(i, 1) } {
                // Chunk i (64 bytes) mod p into half (i mod 2) of u; after the second half, u_(i/2) to G2.
                mcopy(add(buf, 0x60), add(src, shl(6, i)), 64)
                let ok := staticcall(gas(), 0x05, buf, 0xe1, add(add(buf, 0x100), shl(6, and(i, 1))), 64)
                if and(iszero(failed), iszero(and(ok, eq(returndatasize(), 64)))) { failed := 0x05 } // MODEXP
                if and(i, 1) {
                    ok := staticcall(gas(), 0x11, add(buf, 0x100), 128, add(add(buf, 0x180), shl(8, shr(1, i))), 256)
                    if and(iszero(failed), iszero(and(ok, eq(returndatasize(), 256)))) { failed := 0x11 } // MAP_FP2_TO_G2
                }
            }
            let ok := staticcall(gas(), 0x0d, add(buf, 0x180), 512, add(point, 0x20), 256)
            if and(iszero(failed), iszero(and(ok, eq(returndatasize(), 256)))) { failed := 0x0d } // G2_ADD
        }
        if (failed != address(0)) revert BLS12381PrecompileFailed(failed);
    }

    /**
     * @notice RFC 9380 section 5.3.1 `expand_message_xmd` with SHA-256, producing 256 bytes
     * (`len_in_bytes = count · m · L = 2 · 2 · 64`). Reverts with {BLS12381InvalidDst} unless `dst` is 1 to
     * 255 bytes.
     * @dev Gas: the SHA256 precompile on one scratch buffer past the free memory pointer — `msg_prime` for
     * `b_0`, then `b ‖ i ‖ DST_prime` with `DST_prime` written once and only the 33 leading bytes rewritten
     * per block — instead of an `abi.encodePacked` allocation per block.
     */
    function expandMessageXmd(bytes memory message, bytes memory dst) internal view returns (bytes memory out) {
        if (dst.length == 0 || dst.length > 255) revert BLS12381InvalidDst(dst.length);
        out = new bytes(256);
        bool ok;
        assembly ("memory-safe") {
            let dLen := mload(dst)
            let mLen := mload(message)
            let buf := mload(0x40)
            // msg_prime = Z_pad(64) ‖ msg ‖ I2OSP(256, 2) ‖ I2OSP(0, 1) ‖ DST ‖ I2OSP(len(DST), 1)
            mstore(buf, 0)
            mstore(add(buf, 0x20), 0)
            mcopy(add(buf, 0x40), add(message, 0x20), mLen)
            let p := add(add(buf, 0x40), mLen)
            mstore(p, shl(232, 0x010000)) // 0x01 0x00 0x00: the three bytes after msg (the rest is overwritten)
            mcopy(add(p, 3), add(dst, 0x20), dLen)
            mstore8(add(add(p, 3), dLen), dLen)
            ok := staticcall(gas(), 0x02, buf, add(add(0x44, mLen), dLen), 0x00, 0x20)
            let b0 := mload(0x00)
            // b_i = H(strxor(b_0, b_(i-1)) ‖ I2OSP(i, 1) ‖ DST_prime), i = 1..8, with b_0 ^ 0 = b_0 for b_1.
            mcopy(add(buf, 0x21), add(dst, 0x20), dLen)
            mstore8(add(add(buf, 0x21), dLen), dLen)
            let bLen := add(0x22, dLen)
            let bi := 0
            for { let i := 1 } lt(i, 9) { i := add(i, 1) } {
                mstore(buf, xor(b0, bi))
                mstore8(add(buf, 0x20), i)
                ok := and(ok, staticcall(gas(), 0x02, buf, bLen, 0x00, 0x20))
                bi := mload(0x00)
                mstore(add(out, shl(5, i)), bi)
            }
            ok := and(ok, eq(returndatasize(), 0x20))
        }
        if (!ok) revert BLS12381PrecompileFailed(SHA256);
    }

    /**
     * @notice Adds two G1 points (128 bytes each) in place: `acc = acc + other`, where `buf` holds
     * `acc ‖ other` (256 bytes) and receives the sum in its first 128 bytes.
     */
    function g1AddInPlace(bytes memory buf) internal view {
        _call(G1_ADD, buf, 0, 256, buf, 0, 128);
    }

    /**
     * @notice The 48-byte compressed (ZCash / IETF) form of a G1 point given in EIP-2537 form: x with
     * the top three bits set to compressed (0x80), infinity (0x40, only for the zero point) and
     * sign (0x20 when y is the lexicographically larger root, y > (p - 1) / 2).
     */
    function compressG1(bytes memory pk) internal pure returns (bytes memory out) {
        out = new bytes(48);
        if (pk.length != 128) return out;
        uint256 xHi;
        uint256 xLo;
        uint256 yHi;
        uint256 yLo;
        assembly ("memory-safe") {
            xHi := mload(add(pk, 0x20))
            xLo := mload(add(pk, 0x40))
            yHi := mload(add(pk, 0x60))
            yLo := mload(add(pk, 0x80))
        }
        uint256 flags;
        if ((xHi | xLo | yHi | yLo) == 0) {
            flags = 0xc0;
        } else {
            bool larger = yHi > HALF_P_HI || (yHi == HALF_P_HI && yLo > HALF_P_LO);
            flags = larger ? 0xa0 : 0x80;
        }
        // The 48 bytes of x are the low 16 bytes of xHi followed by the 32 bytes of xLo; the flags go in
        // the top three bits of the first of them (always zero in a field element below 2^381).
        assembly ("memory-safe") {
            mstore(add(out, 0x20), shl(128, xHi))
            mstore(add(out, 0x30), xLo)
            mstore8(add(out, 0x20), or(byte(0, mload(add(out, 0x20))), flags))
        }
    }

    /// @dev Whether every byte of `b` is zero: the EIP-2537 encoding of the identity (a whole number of words).
    function _isZero(bytes memory b) private pure returns (bool zero) {
        assembly ("memory-safe") {
            let acc := 0
            let p := add(b, 0x20)
            for { let end := add(p, mload(b)) } lt(p, end) { p := add(p, 0x20) } { acc := or(acc, mload(p)) }
            zero := iszero(acc)
        }
    }

    /// @dev staticcall of `target` with `input[inOff..inOff+inLen]`, writing exactly `outLen` bytes to
    /// `output[outOff..]`; reverts with {BLS12381PrecompileFailed} on failure or short output.
    function _call(
        address target,
        bytes memory input,
        uint256 inOff,
        uint256 inLen,
        bytes memory output,
        uint256 outOff,
        uint256 outLen
    ) private view {
        bool ok;
        assembly ("memory-safe") {
            ok := staticcall(gas(), target, add(add(input, 0x20), inOff), inLen, add(add(output, 0x20), outOff), outLen)
            ok := and(ok, eq(returndatasize(), outLen))
        }
        if (!ok) revert BLS12381PrecompileFailed(target);
    }
}
