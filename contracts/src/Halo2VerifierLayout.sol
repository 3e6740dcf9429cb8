// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

/// @title Halo2VerifierLayout
/// @notice What the pieces of snarkml's verifier share (`Halo2VerifierCore`,
/// `Halo2VerifierOpening`): the failure codes `check` reports, the field moduli, and the layout
/// of the context words the assembly keeps its state in (index × 32 from the context base, the
/// free memory pointer at the start of a check).
abstract contract Halo2VerifierLayout {
    /// A check the proof failed, as `_check` reports it (0 when the proof is valid).
    uint256 internal constant OK = 0;
    /// The proof's length is not the artifact's (detail: the expected length).
    uint256 internal constant BAD_PROOF_LENGTH = 1;
    /// Not as many instances as the artifact's (detail: the expected count).
    uint256 internal constant BAD_INSTANCES = 2;
    /// An instance or a proof scalar is not below r (detail: instance index, or proof offset).
    uint256 internal constant NOT_CANONICAL = 3;
    /// A proof point is not on G1 (detail: its proof offset).
    uint256 internal constant NOT_ON_CURVE = 4;
    /// A denominator is zero at the proof's challenges.
    uint256 internal constant DEGENERATE = 5;
    /// The pairing check fails: the proof is invalid for these instances and key.
    uint256 internal constant PAIRING = 6;
    /// The artifact is malformed (detail: the byte offset where it stops making sense).
    uint256 internal constant BAD_ARTIFACT = 7;
    /// The accumulator in the instances is no pair of points (detail: the instance index).
    uint256 internal constant ACCUMULATOR = 8;

    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583;

    // Context words (index × 32 from the context base).
    uint256 internal constant C_ADVICE = 0;
    uint256 internal constant C_LOOKUPS = 1;
    uint256 internal constant C_SETS = 2;
    uint256 internal constant C_PIECES = 3;
    uint256 internal constant C_EVALS = 4;
    uint256 internal constant C_INSTANCES = 5;
    uint256 internal constant C_K = 6;
    uint256 internal constant C_BLINDING = 7;
    uint256 internal constant C_ARTIFACT = 8; // pointer to the artifact's first byte
    uint256 internal constant C_COMMITMENTS = 9; // pointer to the fixed, then permutation commitments
    uint256 internal constant C_ROTATIONS = 10; // pointer to the rotation points
    uint256 internal constant C_NROTATIONS = 11;
    uint256 internal constant C_OPENINGS = 12; // pointer to the opening sets
    uint256 internal constant C_NOPENINGS = 13;
    uint256 internal constant C_PROGRAM = 14; // pointer to the program
    uint256 internal constant C_PROOF = 15; // calldata offset of the proof
    uint256 internal constant C_INSTANCE_AT = 16; // calldata offset of the instances
    uint256 internal constant C_POINTS = 17; // proof points before SHPLONK's two
    uint256 internal constant C_CODES = 18; // commitment codes: proof points, fixed, permutation
    uint256 internal constant C_THETA = 19; // θ β γ y x μ γ′ z′ follow
    uint256 internal constant C_X = 23;
    uint256 internal constant C_MU = 24;
    uint256 internal constant C_GAMMA2 = 25;
    uint256 internal constant C_ZPRIME = 26;
    uint256 internal constant C_XN = 27;
    uint256 internal constant C_SLOTS = 28; // the program's memory
    uint256 internal constant C_SCALARS = 29; // one MSM scalar per commitment code
    uint256 internal constant C_INVERSES = 30; // the batch of inverses
    uint256 internal constant C_ROWS = 31; // Lagrange rows in the batch (−(b+1) … 0)
    uint256 internal constant C_TRANSCRIPT = 32; // the transcript's buffer (last: it grows)
    uint256 internal constant C_LIMIT = 33; // end of the derived values (h is the word before)
    uint256 internal constant C_Z0 = 34; // Z₀ of SHPLONK's first set
    uint256 internal constant C_G = 35; // the generator's scalar
    uint256 internal constant C_OMEGA_LAST = 36; // ω^−(b+1)
    uint256 internal constant C_GAMMA_I = 37; // γ′^i of the current opening set
    uint256 internal constant C_OUT = 38; // the program's first temporary slot
    uint256 internal constant C_ACCUMULATOR = 39; // the accumulator's first instance, or 0xffff
    uint256 internal constant C_INSTANCE_NUM = 40; // numerator of the instances' fraction
    uint256 internal constant C_E = 41; // E_j of the current opening set (at most 16 points)
    uint256 internal constant C_PHASE0 = 57; // advice commitments before the challenges
    uint256 internal constant C_CHALLENGES = 58; // the circuit's challenges (version 3)
    uint256 internal constant C_WORDS = 59;
}
