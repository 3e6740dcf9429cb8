//! Structural checks of a compiled model read from disk: the whole model here, each layer by
//! its [`super::Op::validate`].

use super::Check;
use crate::model::{Activation, CompiledModel, Visibility, MAX_GAIN, MAX_K};

impl CompiledModel {
    /// Checks the structure a hand-edited or corrupted file could break (tensor ids, lengths,
    /// table widths, layout), so that nothing later indexes out of range.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let cx = Check { model: self };
        if !(3..=64).contains(&self.layout.width) || !(4..=MAX_K).contains(&self.layout.k) {
            return Err(format!(
                "layout width {} / k {} out of range",
                self.layout.width, self.layout.k
            ));
        }
        let tables = &self.tables;
        if tables
            .activations
            .iter()
            .filter(|(act, bits)| !tables.limbed_table(**act, **bits))
            .map(|(_, bits)| bits)
            .chain(&tables.range_shifts)
            .any(|b| *b == 0 || *b > 24)
        {
            return Err("a lookup table width is outside 1..=24 bits".into());
        }
        if tables.limb_bits.is_some_and(|l| l == 0 || l > 24)
            || tables.limbed_identity().is_some_and(|b| b > 64)
        {
            return Err("a limb width is outside 1..=24 bits or a range past 64 bits".into());
        }
        if tables.gains.values().any(|g| *g > MAX_GAIN) {
            return Err(format!(
                "an activation's output gain is past {} bits",
                MAX_GAIN
            ));
        }
        // Every limb of every limbed check needs its range table.
        if tables.limbed_identity().is_some_and(|b| !cx.has_range(b)) {
            return Err("no range tables for the limbs of the identity checks".into());
        }
        if let Some(s) = tables.identity_split {
            if !self.layout.one_row_rescale || tables.limb_bits.is_some() || s == 0 {
                return Err(
                    "split identity checks need one-row rescales, no limbs and a width of 1 bit or more"
                        .into(),
                );
            }
            if let Some((lo, hi)) = tables.split_identity() {
                if [lo, hi]
                    .iter()
                    .any(|b| *b > 0 && !tables.range_shifts.contains(b))
                {
                    return Err("no range tables for the split identity checks".into());
                }
            }
        }
        if self.weights == Visibility::Public {
            return Err("weights are fixed, private or hashed, never public".into());
        }
        self.weights_salt().map_err(|e| e.to_string())?;
        for io in self.inputs.iter().chain(&self.outputs) {
            cx.numel(io.tensor)?;
            if !(2..=126).contains(&io.pack_bits) {
                return Err(format!("pack width {} out of range", io.pack_bits));
            }
            if io.boundary && (io.visibility != Visibility::Hashed || io.pack_bits > 62) {
                return Err(format!(
                    "a segment boundary is hashed and at most 62 bits wide (this one is {} at {} bits)",
                    io.visibility, io.pack_bits
                ));
            }
            if io.visibility == Visibility::Fixed {
                return Err(
                    "an input or output cannot be `fixed` (public, private or hashed)".into(),
                );
            }
        }
        // Finer features: a float model input's, one per feature, within the largest scale.
        for io in &self.inputs {
            let t = &self.tensors[io.tensor];
            let features = t.shape.last().copied().unwrap_or(1);
            if !io.feature_bits.is_empty()
                && (io.boundary
                    || io.dtype != crate::model::InputType::Float
                    || io.feature_bits.len() != features
                    || io
                        .feature_bits
                        .iter()
                        .any(|e| t.scale_bits.saturating_add(*e) > super::lower::MAX_SCALE_BITS))
            {
                return Err(format!(
                    "input `{}`: feature_bits {:?} are not one per feature of a float input within scale {}",
                    t.name,
                    io.feature_bits,
                    super::lower::MAX_SCALE_BITS
                ));
            }
        }
        if self.outputs.iter().any(|io| !io.feature_bits.is_empty()) {
            return Err("an output has feature_bits (only float model inputs do)".into());
        }
        if let Some(t) = self.tensors.iter().find(|t| t.scale_bits > 62) {
            return Err(format!(
                "tensor `{}`: scale 2^{} is past 2^62",
                t.name, t.scale_bits
            ));
        }
        // A boundary input is range-checked by limbs (an output is bounded by its layers).
        if self.inputs.iter().any(|io| {
            io.boundary
                && tables
                    .boundary_limbs(io.pack_bits)
                    .iter()
                    .any(|b| !tables.range_shifts.contains(b))
        }) {
            return Err("no range tables for the limbs of a segment boundary input".into());
        }
        for layer in &self.layers {
            layer
                .op()
                .validate(&cx)
                .map_err(|e| format!("layer `{}`: {e}", layer.node()))?;
        }
        if self.inputs.iter().any(|io| !io.boundary) && !cx.has_table(Activation::Identity) {
            return Err("no identity table for the input range checks".into());
        }
        Ok(())
    }
}
