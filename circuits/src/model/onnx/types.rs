//! The element types of the values a graph computes, by tract's type inference, for the ops
//! whose meaning depends on them: `Div` of two integer tensors truncates, of floats it does not.

use super::reference::datum_type;
use super::InputType;
use std::collections::HashMap;
use tract_onnx::pb;
use tract_onnx::prelude::{DatumType, Framework, InferenceFact, InferenceModelExt, OutletId};

/// Element types by ONNX value name; empty where tract cannot type the graph (then every
/// computed value reads as a float, and only a constant integer divisor marks a `Div` as
/// integer).
#[derive(Clone, Debug, Default)]
pub(super) struct ValueTypes(HashMap<String, DatumType>);

impl ValueTypes {
    /// The types of every value of `proto` given its inputs' shapes and types.
    pub(super) fn infer(proto: &pb::ModelProto, inputs: &[(Vec<usize>, InputType)]) -> Self {
        let infer = || -> tract_onnx::prelude::TractResult<HashMap<String, DatumType>> {
            let mut model = tract_onnx::onnx().model_for_proto_model(proto)?;
            for (i, (shape, t)) in inputs.iter().enumerate() {
                model.set_input_fact(i, InferenceFact::dt_shape(datum_type(*t), shape))?;
            }
            // The outputs' declared shapes and types may be wrong (the importer checks its
            // own); they must not stop the inference of the values before them.
            for i in 0..model.outputs.len() {
                model.set_output_fact(i, InferenceFact::default())?;
            }
            let typed = model.into_typed()?;
            let mut types = HashMap::new();
            for node in typed.nodes() {
                for ix in 0..node.outputs.len() {
                    let outlet = OutletId::new(node.id, ix);
                    if let Some(label) = typed.outlet_label(outlet) {
                        types.insert(label.to_owned(), typed.outlet_fact(outlet)?.datum_type);
                    }
                }
            }
            Ok(types)
        };
        // tract panics on some graphs (see `quantize::cross_check`): unknown types, then.
        let types = std::panic::catch_unwind(std::panic::AssertUnwindSafe(infer));
        Self(types.ok().and_then(Result::ok).unwrap_or_default())
    }

    /// Whether value `name` is known to hold integers (or booleans; tract types int64 values
    /// it may treat as shapes as `TDim`).
    pub(super) fn integer(&self, name: &str) -> bool {
        self.0
            .get(name)
            .is_some_and(|t| t.is_integer() || matches!(t, DatumType::Bool | DatumType::TDim))
    }
}
