// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

import {Test} from "./utils/Test.sol";
import {MockRawVerifier} from "./mocks/MockRawVerifier.sol";
import {Halo2VerifierAdapter} from "../src/Halo2VerifierAdapter.sol";

contract Halo2VerifierAdapterTest is Test {
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    uint256 internal constant MAX_FUZZ_INSTANCES = 16;
    uint256 internal constant MAX_FUZZ_PROOF_BYTES = 2048;

    /// @dev The calldata a generated verifier expects, built word by word and byte by byte
    /// (independently of `abi.encodePacked`, which the adapter uses).
    function rawCalldata(uint256[] memory instances, bytes memory proof) internal pure returns (bytes memory out) {
        out = new bytes(32 * instances.length + proof.length);
        for (uint256 i = 0; i < instances.length; ++i) {
            bytes32 word = bytes32(instances[i]);
            for (uint256 j = 0; j < 32; ++j) {
                out[32 * i + j] = word[j];
            }
        }
        for (uint256 k = 0; k < proof.length; ++k) {
            out[32 * instances.length + k] = proof[k];
        }
    }

    /// @dev An adapter for proofs of `proofLength` bytes with `instanceCount` instances, whose
    /// raw verifier accepts exactly `accepted`.
    function adapterAccepting(bytes memory accepted, uint256 instanceCount, uint256 proofLength)
        internal
        returns (Halo2VerifierAdapter adapter, address raw)
    {
        raw = address(new MockRawVerifier(accepted));
        adapter = new Halo2VerifierAdapter(raw, instanceCount, proofLength);
    }

    /// @dev An adapter for the shape of `instances` and `proof`, whose raw verifier accepts
    /// exactly `accepted`.
    function adapterAccepting(bytes memory accepted, uint256[] memory instances, bytes memory proof)
        internal
        returns (Halo2VerifierAdapter adapter, address raw)
    {
        return adapterAccepting(accepted, instances.length, proof.length);
    }

    function sampleInstances() internal pure returns (uint256[] memory instances) {
        instances = new uint256[](3);
        instances[0] = 1;
        instances[1] = 0x1234;
        instances[2] = R - 1;
    }

    function sampleProof() internal pure returns (bytes memory) {
        return hex"0badc0ffee0ddf00d5eaf00d0123456789abcdef";
    }

    function test_StoresRawVerifierAndShape() public {
        (Halo2VerifierAdapter adapter, address raw) = adapterAccepting("", 3, 20);
        assertEq(adapter.rawVerifier(), raw, "rawVerifier");
        assertEq(adapter.SCALAR_FIELD_MODULUS(), R, "SCALAR_FIELD_MODULUS");
        assertEq(adapter.instanceCount(), 3, "instanceCount as given");
        assertEq(adapter.proofLength(), 20, "proofLength as given");
    }

    /// @dev The raw verifier's code embeds the verifying key: its code hash names the key.
    function test_VkHashIsTheRawVerifiersCodeHash() public {
        (Halo2VerifierAdapter adapter, address raw) = adapterAccepting(hex"01", 3, 20);
        assertEq(adapter.vkHash(), raw.codehash, "vkHash is the raw verifier's code hash");
        (Halo2VerifierAdapter other, address otherRaw) = adapterAccepting(hex"02", 3, 20);
        assertEq(other.vkHash(), otherRaw.codehash, "vkHash is the other raw verifier's code hash");
        assertTrue(adapter.vkHash() != other.vkHash(), "another key, another vkHash");
    }

    /// @dev Issue #23 (1): a raw verifier reads the instances at fixed offsets, so it would
    /// accept calldata with an instance too many. The adapter returns false for another count
    /// without calling it, even when the raw verifier would accept.
    function test_ReturnsFalseForAnExtraInstanceWithoutCallingTheRawVerifier() public {
        uint256[] memory instances = sampleInstances();
        bytes memory proof = sampleProof();
        uint256[] memory extra = new uint256[](4);
        (extra[0], extra[1], extra[2], extra[3]) = (instances[0], instances[1], instances[2], 7);
        Halo2VerifierAdapter adapter = new Halo2VerifierAdapter(
            address(new MockRawVerifier(rawCalldata(extra, proof))), instances.length, proof.length
        );
        vm.expectCall(adapter.rawVerifier(), rawCalldata(extra, proof), 0);
        assertFalse(adapter.verifyProof(proof, extra), "an extra instance accepted");
        // One instance fewer is refused the same way.
        uint256[] memory fewer = new uint256[](2);
        (fewer[0], fewer[1]) = (instances[0], instances[1]);
        vm.expectCall(adapter.rawVerifier(), rawCalldata(fewer, proof), 0);
        assertFalse(adapter.verifyProof(proof, fewer), "a missing instance accepted");
    }

    function test_ReturnsFalseForAProofOneByteLongerOrShorter() public {
        uint256[] memory instances = sampleInstances();
        bytes memory proof = sampleProof();
        bytes memory longer = bytes.concat(proof, hex"00");
        bytes memory shorter = new bytes(proof.length - 1);
        for (uint256 i = 0; i < shorter.length; ++i) {
            shorter[i] = proof[i];
        }
        // Raw verifiers that would accept the longer and the shorter proof: never consulted.
        Halo2VerifierAdapter forLonger = new Halo2VerifierAdapter(
            address(new MockRawVerifier(rawCalldata(instances, longer))), instances.length, proof.length
        );
        Halo2VerifierAdapter forShorter = new Halo2VerifierAdapter(
            address(new MockRawVerifier(rawCalldata(instances, shorter))), instances.length, proof.length
        );
        vm.expectCall(forLonger.rawVerifier(), rawCalldata(instances, longer), 0);
        assertFalse(forLonger.verifyProof(longer, instances), "a proof one byte longer accepted");
        vm.expectCall(forShorter.rawVerifier(), rawCalldata(instances, shorter), 0);
        assertFalse(forShorter.verifyProof(shorter, instances), "a proof one byte shorter accepted");
    }

    function test_AcceptsValidProof() public {
        uint256[] memory instances = sampleInstances();
        bytes memory proof = sampleProof();
        (Halo2VerifierAdapter adapter, address raw) = adapterAccepting(rawCalldata(instances, proof), instances, proof);

        vm.expectCall(raw, rawCalldata(instances, proof));
        assertTrue(adapter.verifyProof(proof, instances), "valid proof rejected");
    }

    function test_EncodesInstancesThenProofAsCalldata() public {
        uint256[] memory instances = new uint256[](2);
        instances[0] = 0x01;
        instances[1] = R - 1;
        bytes memory proof = hex"deadbeef";
        bytes memory expected = bytes.concat(
            hex"0000000000000000000000000000000000000000000000000000000000000001",
            hex"30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000000",
            hex"deadbeef"
        );
        assertEq(rawCalldata(instances, proof), expected, "test helper encoding");
        (Halo2VerifierAdapter adapter, address raw) = adapterAccepting(expected, instances, proof);

        vm.expectCall(raw, expected, 1);
        assertTrue(adapter.verifyProof(proof, instances), "adapter calldata differs from the expected layout");
    }

    function test_AcceptsNoInstancesAndEmptyProof() public {
        (Halo2VerifierAdapter adapter,) = adapterAccepting("", 0, 0);
        assertTrue(adapter.verifyProof("", new uint256[](0)), "empty calldata rejected");
    }

    function test_RejectsWhenRawVerifierReverts() public {
        (Halo2VerifierAdapter adapter, address raw) = adapterAccepting(hex"01", 3, 20);
        vm.expectCall(raw, rawCalldata(sampleInstances(), sampleProof()));
        assertFalse(adapter.verifyProof(sampleProof(), sampleInstances()), "reverting raw verifier accepted");
    }

    function test_RejectsTamperedProof() public {
        uint256[] memory instances = sampleInstances();
        bytes memory proof = sampleProof();
        (Halo2VerifierAdapter adapter,) = adapterAccepting(rawCalldata(instances, proof), instances, proof);

        proof[proof.length - 1] ^= 0x01;
        assertFalse(adapter.verifyProof(proof, instances), "tampered proof accepted");
    }

    function test_RejectsTamperedInstance() public {
        uint256[] memory instances = sampleInstances();
        bytes memory proof = sampleProof();
        (Halo2VerifierAdapter adapter,) = adapterAccepting(rawCalldata(instances, proof), instances, proof);

        instances[1] += 1;
        assertFalse(adapter.verifyProof(proof, instances), "tampered instance accepted");
    }

    function test_ReturnsFalseForInstanceAtModulus() public {
        uint256[] memory instances = sampleInstances();
        bytes memory proof = sampleProof();
        instances[1] = R;
        // Even a raw verifier that would accept this calldata must not be consulted.
        (Halo2VerifierAdapter adapter, address raw) = adapterAccepting(rawCalldata(instances, proof), instances, proof);

        vm.expectCall(raw, rawCalldata(instances, proof), 0);
        assertFalse(adapter.verifyProof(proof, instances), "instance == r accepted");
    }

    function test_ReturnsFalseForInstanceAboveModulus() public {
        uint256[] memory instances = sampleInstances();
        bytes memory proof = sampleProof();
        instances[2] = type(uint256).max;
        (Halo2VerifierAdapter adapter, address raw) = adapterAccepting(rawCalldata(instances, proof), instances, proof);

        vm.expectCall(raw, rawCalldata(instances, proof), 0);
        assertFalse(adapter.verifyProof(proof, instances), "instance > r accepted");
    }

    function test_RevertWhen_RawVerifierIsNotAContract() public {
        address eoa = address(0xBEEF);
        vm.expectRevert(abi.encodeWithSelector(Halo2VerifierAdapter.NotAContract.selector, eoa));
        new Halo2VerifierAdapter(eoa, 3, 20);
    }

    /// @dev The verdict is true exactly when every instance is below r and the adapter's
    /// calldata equals the one the raw verifier accepts.
    function testFuzz_VerdictIsCalldataEquality(
        uint256[] memory seeds,
        bytes memory proof,
        bool outOfRange,
        bool tamper,
        uint256 position
    ) public {
        uint256 n = bound(seeds.length, 0, MAX_FUZZ_INSTANCES);
        uint256 proofLength = bound(proof.length, 0, MAX_FUZZ_PROOF_BYTES);
        assembly {
            mstore(proof, proofLength)
        }
        uint256[] memory instances = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            instances[i] = seeds[i] % R;
        }
        outOfRange = outOfRange && n > 0;
        if (outOfRange) {
            uint256 k = position % n;
            instances[k] = R + seeds[k] % (type(uint256).max - R + 1);
        }

        bytes memory sent = rawCalldata(instances, proof);
        bytes memory accepted = sent;
        if (tamper) {
            accepted = sent.length == 0 ? bytes(hex"00") : bytes.concat(sent);
            if (sent.length > 0) accepted[position % sent.length] ^= 0x80;
        }
        (Halo2VerifierAdapter adapter,) = adapterAccepting(accepted, instances, proof);

        bool calldataMatches = keccak256(sent) == keccak256(accepted);
        assertEq(adapter.verifyProof(proof, instances), !outOfRange && calldataMatches, "verdict");
    }

    /// @dev Any other instance count or proof length than the adapter's is false, and the raw
    /// verifier (here one that would accept exactly that calldata) is never called.
    function testFuzz_OtherShapeIsFalseWithoutCallingTheRawVerifier(
        uint8 instanceCount,
        uint16 proofLength,
        uint8 sentCount,
        uint16 sentLength
    ) public {
        instanceCount = uint8(bound(instanceCount, 0, MAX_FUZZ_INSTANCES));
        proofLength = uint16(bound(proofLength, 0, MAX_FUZZ_PROOF_BYTES));
        sentCount = uint8(bound(sentCount, 0, MAX_FUZZ_INSTANCES));
        sentLength = uint16(bound(sentLength, 0, MAX_FUZZ_PROOF_BYTES));
        if (sentCount == instanceCount && sentLength == proofLength) sentLength += 1;
        uint256[] memory instances = new uint256[](sentCount);
        for (uint256 i = 0; i < sentCount; ++i) {
            instances[i] = i + 1;
        }
        bytes memory proof = new bytes(sentLength);
        bytes memory sent = rawCalldata(instances, proof);
        (Halo2VerifierAdapter adapter, address raw) = adapterAccepting(sent, instanceCount, proofLength);
        vm.expectCall(raw, sent, 0);
        assertFalse(adapter.verifyProof(proof, instances), "another shape accepted");
    }
}
