//! Lowering's state: the float graph becomes circuit layers, per-tensor scales and the
//! lookup and range tables they need. The driver (`quantize::lower`) loops over the graph and
//! calls each op's `lower` (one per file beside this one); what they share lives here.

use crate::model::{
    layers, Activation, FloatGraph, FloatOp, Layer, QTensor, Rescale, Tables, TensorId,
};

/// Lookup tables cover this many times the largest magnitude seen during calibration.
pub const RANGE_MARGIN: f64 = 2.0;
/// The widest range table a division's remainders may use.
pub const MAX_RANGE_BITS: u32 = 20;
/// The most fractional bits fake quantization's table reads its count of steps at (each
/// doubles the table): enough for the exact ties of power-of-two steps on data a few bits
/// finer than the step; a count exact only at more bits is rarely exactly a tie.
pub(crate) const MAX_TIE_BITS: u32 = 4;
/// The largest scale the compiler will accept (fractional bits of any value, a finer input
/// feature's included).
pub const MAX_SCALE_BITS: u32 = 16;

/// The signed bit width of values up to `max_abs` at `scale_bits`, with the margin.
pub(crate) fn bits_for(max_abs: f64, scale_bits: u32) -> u32 {
    let m = (max_abs * (1u64 << scale_bits) as f64 * RANGE_MARGIN)
        .ceil()
        .max(1.0) as u64;
    (64 - m.leading_zeros()) + 1
}

/// One lowering in progress: the float graph at activation scale `s` and weight scale `sw`,
/// and the quantized tensors, tables, layers and range widths so far. Each op's `lower`
/// function (in its file under `ops/`) adds its layers through it.
pub(crate) struct Lowering<'a> {
    /// The float graph.
    pub(crate) graph: &'a FloatGraph,
    /// How many ops read each tensor.
    pub(crate) readers: Vec<usize>,
    /// The activation scale.
    pub(crate) s: u32,
    /// The weight scale.
    pub(crate) sw: u32,
    /// Calibrated magnitudes, one per tensor (those the lowering adds included).
    pub(crate) max_abs: Vec<f64>,
    /// The model inputs quantized finer per feature (see
    /// [`crate::model::IoSpec::feature_bits`]): their extra bits, by tensor.
    pub(crate) feature_bits: std::collections::BTreeMap<TensorId, Vec<u32>>,
    /// The quantized tensors.
    pub(crate) tensors: Vec<QTensor>,
    /// The lookup and range tables needed so far.
    pub(crate) tables: Tables,
    /// Widths of the range checks, in the order met (the order of the tables).
    pub(crate) ranges: Vec<u32>,
    /// The circuit layers so far.
    pub(crate) layers: Vec<Layer>,
    /// The width of range-check limbs, where wide checks are made of limbs (see
    /// [`crate::model::Tables::limb_bits`]).
    pub(crate) limb_bits: Option<u32>,
}

impl Lowering<'_> {
    /// The scale (fractional bits) of tensor `t`.
    pub(crate) fn scale(&self, t: TensorId) -> u32 {
        self.tensors[t].scale_bits
    }

    /// The scale at which an op reading `ts` together works: the coarsest of theirs (finer
    /// ones are rounded to it), except that a whole-number tensor (below the activation
    /// scale: an integer model input, a floor division's quotient, quantization levels) is
    /// raised exactly rather than rounding the others to whole numbers.
    pub(crate) fn common_scale(&self, ts: &[TensorId]) -> u32 {
        let finest = ts.iter().map(|t| self.scale(*t)).max().unwrap_or(self.s);
        ts.iter()
            .map(|t| match self.scale(*t) {
                s if s < self.s => self.s.min(finest),
                s => s,
            })
            .min()
            .unwrap_or(self.s)
    }

    /// `t`, raised exactly to the activation scale where it is coarser (a whole-number
    /// tensor an op cannot read at its own scale without rounding its result).
    pub(crate) fn at_least_activation_scale(&mut self, t: TensorId, node: &str) -> TensorId {
        if self.scale(t) < self.s {
            self.at_scale(t, self.s, Activation::Identity, node, None)
        } else {
            t
        }
    }

    /// Makes `act`'s table cover values of magnitude `max` at `scale`.
    pub(crate) fn need(&mut self, act: Activation, max: f64, scale: u32) {
        let bits = bits_for(max, scale);
        let e = self.tables.activations.entry(act).or_insert(bits);
        *e = (*e).max(bits);
    }

    /// `t` at `target` fractional bits through `act` (the identity: only the scale changes),
    /// written to `into` (else a new tensor): element-wise, weight one, rescaled and rounded
    /// down from a finer scale, or multiplied up exactly (identity only) from a coarser one.
    pub(crate) fn at_scale(
        &mut self,
        t: TensorId,
        target: u32,
        act: Activation,
        node: &str,
        into: Option<TensorId>,
    ) -> TensorId {
        let from = self.scale(t);
        // Only the identity ever goes up (to align a coarser operand); every lookup input is
        // at the activation scale or finer.
        debug_assert!(from >= target || act == Activation::Identity);
        if from == target && act == Activation::Identity && into.is_none() {
            return t;
        }
        let out = into.unwrap_or_else(|| {
            self.tensors.push(QTensor {
                name: format!("{}@{target}", self.tensors[t].name),
                shape: self.tensors[t].shape.clone(),
                scale_bits: target,
            });
            self.max_abs.push(self.max_abs[t]);
            self.tensors.len() - 1
        });
        let n = self.tensors[t].numel();
        let (weight, rescale) = if from >= target {
            let shift = from - target;
            self.need(act, self.max_abs[t], target);
            self.ranges.push(shift.max(1));
            // A shift of 0 still goes through the rescale gate: scale up by 2 and back.
            let (w, shift) = if shift == 0 { (2, 1) } else { (1, shift) };
            (w, Some(Rescale { shift, act }))
        } else {
            (1i64 << (target - from), None)
        };
        self.tensors[out].scale_bits = target + self.tables.gain(act);
        self.layers.push(Layer::Affine(layers::Affine {
            node: node.to_owned(),
            input: t,
            output: out,
            weight: vec![weight; n],
            bias: vec![0; n],
            rescale,
        }));
        out
    }

    /// How an op whose result is at a doubled scale (a linear op or a product) ends, and the tensor
    /// that then holds its result: rescaled and fused with the activation that is its only reader;
    /// kept at the doubled scale when it is only a model output (no rounding, no lookup); or
    /// rescaled through the identity table. The rescale's shift is the caller's to fill in; the
    /// flag says whether the activation op was fused (and is to be skipped).
    fn ending(&self, i: usize, output: TensorId) -> (Option<Rescale>, TensorId, bool) {
        let (graph, readers) = (self.graph, &self.readers);
        let is_output = graph.outputs.contains(&output);
        match graph.ops.get(i + 1) {
            Some(FloatOp::Activation {
                act,
                input,
                output: a_out,
                ..
            }) if *input == output && readers[output] == 1 && !is_output => (
                Some(Rescale {
                    shift: 0,
                    act: *act,
                }),
                *a_out,
                true,
            ),
            _ if is_output && readers[output] == 1 => (None, output, false),
            _ => (
                Some(Rescale {
                    shift: 0,
                    act: Activation::Identity,
                }),
                output,
                false,
            ),
        }
    }

    /// Ends an op (at index `i` of the graph) whose result `output` is at the doubled scale
    /// `acc_scale` (a linear op or a product): see [`Self::ending`], with the rescale's shift
    /// back to the activation scale, its tables, and the result's scale set. Returns the
    /// rescale, the tensor holding the result and whether the next op was fused.
    ///
    /// `sign_only`: the op makes a step's sign exact ([`super::linear::step_offset`]), so a
    /// step after it reads only the sign of its quotient, and the quotient may be coarser than
    /// the activation scale: the rescale then shifts further, trading the step table's width
    /// for the remainder's range check (wide comparisons, as tree features up to thousands
    /// compared at fine scales, no longer size the step table to their whole range). Without
    /// limbs the two widths are balanced; with limbs (the remainder's check costs rows, not a
    /// table) the step table is cut to one limb's width where the remainder then takes limbs.
    ///
    /// Fake quantization ([`Activation::Dequantize`]) reads its count of steps (the op before
    /// it divides by the step) at `exact_bits` fractional bits, those at which the count is
    /// exact, so that its table rounds an exact tie to even as ONNX does; at 0 bits where
    /// that is more than [`MAX_TIE_BITS`] (or the activation scale). The table spans the
    /// type's levels, not the values.
    pub(crate) fn end_at(
        &mut self,
        i: usize,
        output: TensorId,
        acc_scale: u32,
        sign_only: bool,
        exact_bits: u32,
    ) -> (Option<Rescale>, TensorId, bool) {
        let (mut rescale, out, fused) = self.ending(i, output);
        let s = self.s;
        let mut shift = acc_scale - s;
        if let Some(r) = &mut rescale {
            let max = self.max_abs[output];
            let bits = bits_for(max, s);
            let step = sign_only && matches!(r.act, Activation::Step | Activation::StepInclusive);
            if let Activation::Dequantize { fraction, .. } = &mut r.act {
                // A count exact only at many bits (weights that are no power of two: a step
                // that is not) is rarely exactly a tie: read at 0 bits.
                *fraction = if exact_bits <= MAX_TIE_BITS.min(s) {
                    exact_bits
                } else {
                    0
                };
            }
            // With limbs, cut to one limb only where that makes the remainder's check limbs:
            // a lowering that ends up needing no limbs must be the one without them (the two
            // compile searches share those).
            let coarser = match (r.act, self.limb_bits) {
                (Activation::Dequantize { fraction, .. }, _) => s - fraction,
                _ if !step => 0,
                (_, Some(limb)) if bits > limb && shift + bits - limb > limb => bits - limb,
                _ => bits.saturating_sub(shift) / 2,
            };
            shift += coarser;
            self.need(r.act, max / f64::from(coarser).exp2(), s);
            self.ranges.push(shift);
        }
        let rescale = rescale.map(|r| Rescale { shift, ..r });
        self.tensors[out].scale_bits = match rescale {
            Some(r) => s + self.tables.gain(r.act),
            None => acc_scale,
        };
        (rescale, out, fused)
    }
}
