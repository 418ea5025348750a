// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {BLS12381} from "../../src/BLS12381.sol";

/**
 * @title BLS12381Harness
 * @notice Test-only: exposes the internal functions of {BLS12381} so that the tests call them with inputs
 * the product never passes (identity points, arbitrary domain separation tags). Not a source of the product:
 * it lives outside `src/`, so `scripts/compile.mjs` never compiles it and it is in no generated ABI; the
 * tests compile it with the same settings (`scripts/solc.mjs`).
 */
contract BLS12381Harness {
    function verify(bytes memory pk, bytes memory hm, bytes memory signature) external view returns (bool) {
        return BLS12381.verify(pk, hm, signature);
    }

    function hashToG2(bytes memory message, bytes memory dst) external view returns (bytes memory) {
        return BLS12381.hashToG2(message, dst);
    }

    function expandMessageXmd(bytes memory message, bytes memory dst) external view returns (bytes memory) {
        return BLS12381.expandMessageXmd(message, dst);
    }

    function verifyMessage(bytes memory pk, bytes memory message, bytes memory dst, bytes memory signature)
        external
        view
        returns (bool)
    {
        return BLS12381.verify(pk, BLS12381.hashToG2(message, dst), signature);
    }
}
