//! tract's float inference of the ONNX file itself: the reference the compiler checks its own
//! reading of the graph against, and quantization is measured by.

use super::InputType;
use crate::error::{CircuitError, Result};
use tract_onnx::prelude::{
    DatumType, Framework, InferenceFact, InferenceModelExt, IntoRunnable, Tensor, TractResult,
};

/// Float reference inference by tract: the outputs (flattened) for one set of inputs.
pub struct FloatReference {
    plan: std::sync::Arc<tract_onnx::prelude::TypedRunnableModel>,
    shapes: Vec<Vec<usize>>,
    types: Vec<DatumType>,
}

/// tract's element type for a model input.
pub(super) fn datum_type(t: InputType) -> DatumType {
    match t {
        InputType::Float => DatumType::F32,
        InputType::Bool => DatumType::Bool,
        InputType::Int { bits: 8, signed } => [DatumType::U8, DatumType::I8][usize::from(signed)],
        InputType::Int { bits: 16, signed } => {
            [DatumType::U16, DatumType::I16][usize::from(signed)]
        }
        InputType::Int { bits: 32, signed } => {
            [DatumType::U32, DatumType::I32][usize::from(signed)]
        }
        InputType::Int { signed, .. } => [DatumType::U64, DatumType::I64][usize::from(signed)],
    }
}

impl FloatReference {
    /// Loads the model (an ONNX file's bytes) into tract with the given input shapes (float
    /// inputs).
    pub fn new(onnx: &[u8], input_shapes: &[Vec<usize>]) -> Result<Self> {
        Self::typed(onnx, input_shapes, &[])
    }

    /// Loads the model into tract with the given input shapes and element types (floats
    /// where `types` has none).
    pub fn typed(onnx: &[u8], input_shapes: &[Vec<usize>], types: &[InputType]) -> Result<Self> {
        let types: Vec<DatumType> = (0..input_shapes.len())
            .map(|i| datum_type(types.get(i).copied().unwrap_or_default()))
            .collect();
        let build = || -> TractResult<_> {
            let mut model = tract_onnx::onnx().model_for_read(&mut &onnx[..])?;
            for (i, shape) in input_shapes.iter().enumerate() {
                model = model.with_input_fact(i, InferenceFact::dt_shape(types[i], shape))?;
            }
            model.into_optimized()?.into_runnable()
        };
        let plan = build().map_err(|e| CircuitError::Inference {
            reason: format!("{e:#}"),
        })?;
        Ok(Self {
            plan,
            shapes: input_shapes.to_vec(),
            types,
        })
    }

    /// Runs float inference.
    pub fn run(&self, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f32>>> {
        let run = || -> TractResult<Vec<Vec<f32>>> {
            let tensors = inputs
                .iter()
                .zip(self.shapes.iter().zip(&self.types))
                .map(|(data, (shape, dt))| {
                    let t = Tensor::from_shape(shape, data)?;
                    Ok(if *dt == DatumType::F32 {
                        t
                    } else {
                        // Whole numbers (checked before): exact through i64.
                        t.cast_to::<i64>()?.cast_to_dt(*dt)?.into_owned()
                    }
                    .into())
                })
                .collect::<TractResult<_>>()?;
            let outputs = self.plan.run(tensors)?;
            outputs
                .iter()
                .map(|t| {
                    Ok(t.cast_to::<f32>()?
                        .to_plain_array_view::<f32>()?
                        .iter()
                        .copied()
                        .collect())
                })
                .collect()
        };
        run().map_err(|e| CircuitError::Inference {
            reason: format!("{e:#}"),
        })
    }
}
