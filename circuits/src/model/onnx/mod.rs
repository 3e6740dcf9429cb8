//! ONNX import: the protobuf graph (parsed by `tract-onnx`) becomes a [`FloatGraph`], and tract
//! runs the float reference inference the quantized model is measured against.
//!
//! `linear` holds the linear and affine ops with constant operands (and their folding),
//! `elementwise` arithmetic between computed tensors, `reduce` the reductions and the
//! normalizations built from them, `shape` the rearrangements.

mod attention_mask;
mod attrs;
mod const_eval;
mod conv_transpose;
mod dims;
mod dynamic;
mod elementwise;
mod external;
mod fold;
mod graph_folds;
mod indexed;
mod inputs;
mod integer;
mod linear;
mod logic;
mod matmul;
mod ml;
mod qdq;
mod recurrent;
mod reduce;
mod reference;
mod resize;
mod shape;
mod subgraph;
mod svm;
mod trees;
mod types;

pub use external::{inline_external_data, ExternalReader};
pub use reference::FloatReference;

use super::{Activation, FloatGraph, FloatOp, InputType, Param, TensorDef, TensorId};
use crate::error::{CircuitError, Result};
use attrs::{attr_float, attr_int, attr_ints, attr_string, auto_pads};
use std::collections::HashMap;
use tract_onnx::pb::{self, tensor_proto::DataType, NodeProto};
use tract_onnx::prelude::Framework;

/// The most elements a tensor of an imported model may have: `2^28`. A circuit lays out at
/// least one cell per element, and `2^28` rows is the largest SRS any Powers-of-Tau ceremony
/// of BN254 provides, so a larger tensor could never be proven; its shape is refused at import
/// ([`CircuitError::BadShape`]) before anything is allocated for it.
pub const MAX_ELEMENTS: u64 = 1 << 28;

/// The shape of ONNX tensor `tensor` from its declared `dims`, refused
/// ([`CircuitError::BadShape`], naming the dimension) when a dimension is negative, zero
/// unless `zero_ok` (an empty constant), or the tensor has more than [`MAX_ELEMENTS`]
/// elements.
fn checked_shape(tensor: &str, dims: &[i64], zero_ok: bool) -> Result<Vec<usize>> {
    let bad = |reason: String| CircuitError::BadShape {
        tensor: tensor.to_owned(),
        dims: dims.to_vec(),
        reason,
    };
    let mut elements = 1u64;
    for (i, &d) in dims.iter().enumerate() {
        if d < 0 || (d == 0 && !zero_ok) {
            let must = if zero_ok { "non-negative" } else { "positive" };
            return Err(bad(format!(
                "dimension {i} is {d}; dimensions must be {must}"
            )));
        }
        // Both factors are at most 2^28: the product fits.
        elements *= (d as u64).min(MAX_ELEMENTS + 1);
        if elements > MAX_ELEMENTS {
            return Err(bad(format!(
                "dimension {i} is {d}, which makes more than {MAX_ELEMENTS} (2^28) elements, the most a tensor may have"
            )));
        }
    }
    Ok(dims.iter().map(|d| *d as usize).collect())
}

/// Refuses a computed tensor of more than [`MAX_ELEMENTS`] elements ([`CircuitError::BadShape`]).
fn check_elements(tensor: &str, shape: &[usize]) -> Result<()> {
    let elements = shape
        .iter()
        .try_fold(1u64, |acc, d| acc.checked_mul(*d as u64));
    if elements.is_none_or(|n| n > MAX_ELEMENTS) {
        return Err(CircuitError::BadShape {
            tensor: tensor.to_owned(),
            dims: shape
                .iter()
                .map(|d| i64::try_from(*d).unwrap_or(i64::MAX))
                .collect(),
            reason: format!("more than {MAX_ELEMENTS} (2^28) elements, the most a tensor may have"),
        });
    }
    Ok(())
}

/// Why a Gemm with a computed right operand is refused.
const COMPUTED_RIGHT_OPERAND: &str = "a computed right operand (use MatMul)";

/// For a rearrangement: which operand and which of its multi-indices an output multi-index
/// comes from (`None`: a zero).
type SourceFn = Box<dyn Fn(&[usize]) -> Option<(usize, Vec<usize>)>>;

/// A constant tensor (an initializer or a `Constant` node's value).
#[derive(Clone, Debug)]
struct Const {
    shape: Vec<usize>,
    data: Vec<f64>,
    /// An integer tensor (division truncates): shape arithmetic, indices.
    integer: bool,
}

/// An ONNX model as the compiler takes it: its bytes (weights inline: a model whose tensors
/// live in external data files is first made whole by [`inline_external_data`]; the CLI does
/// that for a model file), and the name to give it when its graph has none
/// (the CLI passes the file's stem).
#[derive(Clone, Copy, Debug)]
pub struct OnnxBytes<'a> {
    /// The `.onnx` file's bytes.
    pub bytes: &'a [u8],
    /// The model's name when its graph has none.
    pub name: &'a str,
}

/// Parses an ONNX model into a float graph of supported ops.
pub fn parse(onnx: OnnxBytes<'_>) -> Result<FloatGraph> {
    let proto = std::rc::Rc::new(read_proto(onnx.bytes)?);
    let graph = proto.graph.as_ref().ok_or_else(|| CircuitError::NotOnnx {
        reason: "the file has no graph".into(),
    })?;
    let name = if graph.name.is_empty() {
        onnx.name.to_owned()
    } else {
        graph.name.clone()
    };
    let opset = proto
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map_or(13, |o| o.version);
    let mut importer = Importer {
        graph: FloatGraph {
            name,
            ..FloatGraph::default()
        },
        opset,
        ..Importer::default()
    };
    for init in &graph.initializer {
        let value = tensor_from_proto(init, &init.name)?;
        importer.record_proto_type(&init.name, init.data_type);
        importer.consts.insert(init.name.clone(), value);
    }
    for input in &graph.input {
        if importer.consts.contains_key(&input.name) {
            continue; // old exporters list initializers as inputs too
        }
        let (shape, dtype) = inputs::value_info_shape(input)?;
        let id = importer.add_tensor(&input.name, shape);
        importer.graph.inputs.push(id);
        importer.graph.input_types.push(dtype);
    }
    importer.proto = Some(proto.clone());
    for node in subgraph::in_dependency_order(&graph.node) {
        let legacy = importer.legacy_broadcast(node)?;
        importer.node(legacy.as_ref().unwrap_or(node))?;
    }
    if importer.graph.inputs.is_empty() {
        return Err(CircuitError::InvalidModel {
            node: importer.graph.name.clone(),
            reason: "the model has no inputs".into(),
        });
    }
    for output in &graph.output {
        let id = match importer.ids.get(&output.name) {
            Some(id) => *id,
            None if importer.consts.contains_key(&output.name) => {
                importer.constant_output(&output.name)?
            }
            None => {
                return Err(CircuitError::InvalidModel {
                    node: output.name.clone(),
                    reason: "the model output is never computed".into(),
                })
            }
        };
        importer.graph.outputs.push(id);
    }
    graph_folds::prune_dead(&mut importer.graph);
    graph_folds::fold_relu_into_quantization(&mut importer.graph);
    graph_folds::fold_affine_pairs(&mut importer.graph);
    graph_folds::fold_biases(&mut importer.graph);
    graph_folds::fold_add_const(&mut importer.graph);
    graph_folds::fold_affine(&mut importer.graph);
    graph_folds::fold_add_const(&mut importer.graph);
    graph_folds::fold_affine_forward(&mut importer.graph);
    graph_folds::fold_pool_factor(&mut importer.graph);
    Ok(importer.graph)
}

fn read_proto(mut bytes: &[u8]) -> Result<pb::ModelProto> {
    let proto = tract_onnx::onnx()
        .proto_model_for_read(&mut bytes)
        .map_err(|e| CircuitError::NotOnnx {
            reason: format!("{e:#}")
                .lines()
                .next()
                .unwrap_or("cannot decode")
                .to_string(),
        })?;
    if proto.graph.as_ref().is_none_or(|g| g.node.is_empty()) {
        return Err(CircuitError::NotOnnx {
            reason: "no graph nodes found (is this an ONNX file?)".into(),
        });
    }
    Ok(proto)
}

fn tensor_from_proto(t: &pb::TensorProto, name: &str) -> Result<Const> {
    let bad = |reason: String| CircuitError::InvalidModel {
        node: name.to_owned(),
        reason,
    };
    // An empty constant (a zero dimension) is legitimate ONNX: Resize's unused `roi`.
    let shape = checked_shape(name, &t.dims, true)?;
    if external::is_external(t) {
        return Err(bad(format!(
            "its values are in the external data file `{}` (compile the model from its file, beside that one, or save it with its data inline)",
            external::location(t)
        )));
    }
    let numel: usize = shape.iter().product();
    let raw = &t.raw_data;
    let data: Vec<f64> = match DataType::try_from(t.data_type) {
        Ok(DataType::Float) if !raw.is_empty() => raw
            .chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        Ok(DataType::Float) => t.float_data.iter().map(|v| f64::from(*v)).collect(),
        Ok(DataType::Int64) if !raw.is_empty() => raw
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().expect("chunk of 8")) as f64)
            .collect(),
        Ok(DataType::Int64) => t.int64_data.iter().map(|v| *v as f64).collect(),
        Ok(DataType::Int32) if raw.is_empty() => {
            t.int32_data.iter().map(|v| f64::from(*v)).collect()
        }
        Ok(DataType::Int32) => raw
            .chunks_exact(4)
            .map(|c| f64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        Ok(DataType::Double) if !raw.is_empty() => raw
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("chunk of 8")))
            .collect(),
        Ok(DataType::Double) => t.double_data.clone(),
        // Booleans and bytes: one byte each when raw, else in int32_data.
        Ok(DataType::Bool | DataType::Uint8) if !raw.is_empty() => {
            raw.iter().map(|b| f64::from(*b)).collect()
        }
        Ok(DataType::Int8) if !raw.is_empty() => raw.iter().map(|b| f64::from(*b as i8)).collect(),
        Ok(DataType::Bool | DataType::Uint8 | DataType::Int8) => {
            t.int32_data.iter().map(|v| f64::from(*v)).collect()
        }
        Ok(other) => return Err(bad(format!("constant of type {other:?} is not supported"))),
        Err(_) => return Err(bad(format!("unknown tensor data type {}", t.data_type))),
    };
    if data.len() != numel {
        return Err(bad(format!(
            "constant has {} values for shape {shape:?}",
            data.len()
        )));
    }
    let integer = matches!(
        DataType::try_from(t.data_type),
        Ok(DataType::Int64 | DataType::Int32 | DataType::Int8 | DataType::Uint8 | DataType::Bool)
    );
    Ok(Const {
        shape,
        data,
        integer,
    })
}

#[derive(Default)]
struct Importer {
    graph: FloatGraph,
    ids: HashMap<String, TensorId>,
    consts: HashMap<String, Const>,
    /// The element types of constants where [`Const::integer`] is not enough.
    const_types: const_eval::ConstTypes,
    /// The default-domain opset the model was exported with.
    opset: i64,
    /// The model, for what only a whole-graph analysis tells ([`Importer::value_types`]).
    proto: Option<std::rc::Rc<pb::ModelProto>>,
    /// The element types of computed values, inferred the first time an op needs them.
    types: Option<types::ValueTypes>,
    /// The outputs of QuantizeLinear of computed tensors, for the DequantizeLinear that
    /// reads one (`qdq.rs`).
    quantized: HashMap<TensorId, qdq::Quantized>,
    /// The outputs of DynamicQuantizeLinear, and the integer products of them that are a
    /// float product over the computed scale (`dynamic.rs`).
    dynamic: HashMap<TensorId, dynamic::Dynamic>,
    over_scale: HashMap<TensorId, dynamic::OverScale>,
    /// Attention masks (0 where kept, −∞ elsewhere) and scores masked by them, for the
    /// softmax that reads them (`attention_mask.rs`).
    masks: HashMap<TensorId, attention_mask::Keep>,
    masked: HashMap<TensorId, attention_mask::Masked>,
}

/// The value of a node input: computed or constant.
enum Operand<'a> {
    Var(TensorId),
    Const(&'a Const),
}

impl Importer {
    /// The element types of the graph's values (tract's type inference, run once, on the
    /// first op whose meaning depends on them).
    fn value_types(&mut self) -> &types::ValueTypes {
        if self.types.is_none() {
            let inputs: Vec<_> = (self.graph.inputs.iter())
                .map(|&id| self.graph.tensors[id].shape.clone())
                .zip(self.graph.input_types.iter().copied())
                .collect();
            let types = (self.proto.as_deref())
                .map(|proto| types::ValueTypes::infer(proto, &inputs))
                .unwrap_or_default();
            self.types = Some(types);
        }
        self.types.get_or_insert_with(Default::default)
    }

    fn add_tensor(&mut self, name: &str, shape: Vec<usize>) -> TensorId {
        let id = self.graph.tensors.len();
        self.graph.tensors.push(TensorDef {
            name: name.to_owned(),
            shape,
        });
        self.ids.insert(name.to_owned(), id);
        id
    }

    /// A model output that is a constant (a `Range`, a folded subgraph): a tensor of zeros
    /// (no rows) plus the constant, so the circuit outputs it like any computed value.
    fn constant_output(&mut self, name: &str) -> Result<TensorId> {
        let value = self.consts[name].clone();
        check_elements(name, &value.shape)?;
        let zeros = self.add_tensor(&format!("{name}/zeros"), value.shape.clone());
        self.graph.ops.push(FloatOp::Select {
            node: name.to_owned(),
            inputs: vec![self.graph.inputs[0]],
            output: zeros,
            map: vec![None; value.data.len()],
        });
        let output = self.add_tensor(name, value.shape);
        self.graph.ops.push(FloatOp::AddConst {
            node: name.to_owned(),
            input: zeros,
            constant: value.data.iter().map(|v| *v as f32).collect(),
            output,
        });
        Ok(output)
    }

    fn operand(&self, node: &NodeProto, i: usize) -> Result<Operand<'_>> {
        let name = node
            .input
            .get(i)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| invalid(node, format!("missing input #{i}")))?;
        if let Some(id) = self.ids.get(name) {
            return Ok(Operand::Var(*id));
        }
        self.consts
            .get(name)
            .map(Operand::Const)
            .ok_or_else(|| invalid(node, format!("input `{name}` is never defined")))
    }

    fn var(&self, node: &NodeProto, i: usize) -> Result<TensorId> {
        match self.operand(node, i)? {
            Operand::Var(id) => Ok(id),
            Operand::Const(_) => Err(unsupported(node, "a constant operand here")),
        }
    }

    /// Input `i` of `node`, which must be a constant; `what` names it in the error otherwise.
    fn constant(&self, node: &NodeProto, i: usize, what: &str) -> Result<&Const> {
        match self.operand(node, i)? {
            Operand::Const(c) => Ok(c),
            Operand::Var(_) => Err(unsupported(node, what)),
        }
    }

    fn output_name<'n>(&self, node: &'n NodeProto) -> Result<&'n str> {
        node.output
            .first()
            .map(String::as_str)
            .ok_or_else(|| invalid(node, "the node has no output".into()))
    }

    /// Appends an op writing a new intermediate tensor of `node`, named after the node's
    /// output with `suffix`; returns the tensor.
    fn step(
        &mut self,
        node: &NodeProto,
        suffix: &str,
        shape: Vec<usize>,
        make: impl FnOnce(TensorId) -> FloatOp,
    ) -> Result<TensorId> {
        let name = format!("{}/{suffix}", self.output_name(node)?);
        check_elements(&name, &shape)?;
        let output = self.add_tensor(&name, shape);
        self.graph.ops.push(make(output));
        Ok(output)
    }

    /// An intermediate tensor of `shape` whose elements are copies (`map`: operand and
    /// element, or `None` for zero) of `inputs`: no rows.
    fn copies(
        &mut self,
        node: &NodeProto,
        suffix: &str,
        shape: Vec<usize>,
        inputs: Vec<TensorId>,
        map: Vec<Option<(u32, u32)>>,
    ) -> Result<TensorId> {
        let name = node_name(node);
        self.step(node, suffix, shape, |output| FloatOp::Select {
            node: name,
            inputs,
            output,
            map,
        })
    }

    fn push(
        &mut self,
        node: &NodeProto,
        shape: Vec<usize>,
        make: impl FnOnce(TensorId) -> FloatOp,
    ) -> Result<()> {
        let out_name = self.output_name(node)?.to_owned();
        check_elements(&out_name, &shape)?;
        let output = self.add_tensor(&out_name, shape);
        self.graph.ops.push(make(output));
        Ok(())
    }

    pub(super) fn node(&mut self, node: &NodeProto) -> Result<()> {
        // Ops holding graphs are inlined whatever their inputs: an If's branches and a loop's
        // body read the enclosing graph's values without naming them as inputs.
        match node.op_type.as_str() {
            "Scan" => return self.scan(node),
            "Loop" => return self.loop_op(node),
            "If" => return self.if_op(node),
            _ => {}
        }
        let name = node_name(node);
        if let Some(value) = self.fold(node)? {
            let output = self.output_name(node)?.to_owned();
            self.record_folded_type(node, &output, &value);
            self.consts.insert(output, value);
            return Ok(());
        }
        if node.op_type != "Constant" && self.all_inputs_constant(node) {
            return self.evaluate_constant(node);
        }
        match node.op_type.as_str() {
            "Constant" => {
                let attr = node
                    .attribute
                    .iter()
                    .find(|a| a.name == "value")
                    .and_then(|a| a.t.as_ref());
                let t =
                    attr.ok_or_else(|| unsupported(node, "only the `value` form of Constant"))?;
                let value = tensor_from_proto(t, &name)?;
                let output = self.output_name(node)?.to_owned();
                self.record_proto_type(&output, t.data_type);
                self.consts.insert(output, value);
                Ok(())
            }
            "Gemm" => self.gemm(node, name),
            "QuantizeLinear" => self.quantize_linear(node, name),
            "DequantizeLinear" => self.dequantize_linear(node, name),
            op if op.starts_with("QLinear") => self.qlinear(node, name),
            "DynamicQuantizeLinear" => self.dynamic_quantize_linear(node, name),
            "DynamicQuantizeLSTM" => self.dynamic_quantize_lstm(node, name),
            "MatMulInteger" | "ConvInteger" => self.integer_product(node, name),
            "TreeEnsembleRegressor" => self.tree_ensemble(node, name),
            "TreeEnsembleClassifier" => self.tree_classifier(node, name),
            "Scaler" => self.scaler(node, name),
            "LabelEncoder" => self.label_encoder(node, name),
            "OneHotEncoder" => self.one_hot_encoder(node, name),
            "Binarizer" => self.binarizer(node, name),
            "Imputer" => self.imputer(node, name),
            "Normalizer" => self.normalizer(node, name),
            "LinearRegressor" => self.linear_regressor(node, name),
            "LinearClassifier" => self.linear_classifier(node, name),
            "ZipMap" => self.zip_map(node, name),
            "ArrayFeatureExtractor" => self.array_feature_extractor(node, name),
            "SVMRegressor" => self.svm_regressor(node, name),
            "SVMClassifier" => self.svm_classifier(node, name),
            "Conv" => self.conv(node, name),
            "MatMul"
                if matches!(
                    (self.operand(node, 0)?, self.operand(node, 1)?),
                    (Operand::Const(_), Operand::Var(_))
                ) =>
            {
                self.matmul_const_left(node)
            }
            "MatMul" if matches!(self.operand(node, 1)?, Operand::Var(_)) => {
                self.matmul_vars(node, name)
            }
            "MatMul" => self.matmul(node, name),
            "Add" => {
                self.add(node, name)?;
                self.note_mask(node)
            }
            "Sub" | "Mul" | "Div" => {
                self.arith(node, name)?;
                self.note_mask(node)
            }
            "Pow" => self.pow(node, name),
            "Mod" | "BitShift" | "BitwiseAnd" => self.integer_op(node, name),
            "Sum" | "Mean" | "Max" | "Min" => self.variadic(node, name),
            "PRelu" => self.prelu(node, name),
            "Einsum" => self.einsum(node, name),
            "ReduceSum" | "ReduceMean" | "ReduceMax" | "ReduceMin" | "ReduceSumSquare"
            | "ReduceL1" | "ReduceL2" | "ReduceLogSumExp" | "ReduceProd" => self.reduce(node, name),
            "Hardmax" => self.hardmax(node, name),
            "CumSum" => self.cum_sum(node, name),
            "LRN" => self.lrn(node, name),
            "OneHot" => self.one_hot(node, name),
            "Softmax" | "LogSoftmax" => self.softmax(node, name),
            "LayerNormalization" => self.layer_norm(node, name),
            "InstanceNormalization" => self.instance_norm(node, name),
            "GroupNormalization" => self.group_norm(node, name),
            "LpNormalization" => self.lp_normalization(node, name),
            "LpPool" | "GlobalLpPool" => self.lp_pool(node, name),
            "ConvTranspose" => self.conv_transpose(node, name),
            "LSTM" | "GRU" | "RNN" => self.recurrent(node, name),
            "Greater" | "Less" | "GreaterOrEqual" | "LessOrEqual" | "Equal" => {
                self.compare(node, name)
            }
            "Not" | "And" | "Or" | "Xor" => self.logic(node, name),
            "Where" => {
                self.select_where(node, name)?;
                self.note_mask(node)
            }
            "ArgMax" | "ArgMin" => self.argmax(node, name),
            "TopK" => self.top_k(node, name),
            "AveragePool" | "GlobalAveragePool" => self.avg_pool(node, name),
            "MaxPool" | "GlobalMaxPool" => self.max_pool(node, name),
            "BatchNormalization" => self.batch_norm(node, name),
            "Gather" | "GatherElements" | "GatherND"
                if matches!(self.operand(node, 1)?, Operand::Var(_)) =>
            {
                self.gather_computed(node, name)
            }
            "ScatterElements" | "ScatterND"
                if matches!(self.operand(node, 1)?, Operand::Var(_)) =>
            {
                self.scatter_computed(node, name)
            }
            "Resize"
                if attr_string(node, "mode").is_some_and(|m| m == "linear" || m == "cubic") =>
            {
                self.resize_interpolating(node, name)
            }
            "Transpose" | "Slice" | "Concat" | "Gather" | "Pad" | "Expand" | "Tile" | "Trilu"
            | "GatherElements" | "GatherND" | "ScatterND" | "ScatterElements" | "Resize"
            | "DepthToSpace" | "SpaceToDepth" => self.select(node, name),
            "Split" => self.split(node, name),
            "Squeeze" | "Unsqueeze" => {
                let input = self.var(node, 0)?;
                let from = self.graph.tensors[input].shape.clone();
                let axes: Vec<i64> = match node.input.get(1).filter(|s| !s.is_empty()) {
                    Some(_) => self
                        .constant(node, 1, "computed axes")?
                        .data
                        .iter()
                        .map(|v| *v as i64)
                        .collect(),
                    None => attr_ints(node, "axes").unwrap_or_default(),
                };
                let shape = if node.op_type == "Squeeze" {
                    dims::squeeze(&from, &axes)
                } else {
                    dims::unsqueeze(&from, &axes)
                }
                .ok_or_else(|| invalid(node, format!("bad axes {axes:?} for shape {from:?}")))?;
                self.push(node, shape, |output| FloatOp::Reshape {
                    node: name,
                    input,
                    output,
                })
            }
            "Relu" | "Sigmoid" | "Tanh" | "LeakyRelu" | "Elu" | "Selu" | "Celu" | "HardSigmoid"
            | "HardSwish" | "Softplus" | "Softsign" | "Clip" | "Abs" | "Neg" | "Erf" | "Exp"
            | "Log" | "Sqrt" | "Reciprocal" | "Sign" | "Floor" | "Ceil" | "Round" | "Gelu"
            | "Mish" | "ThresholdedRelu" | "Sin" | "Cos" | "Tan" | "Asin" | "Acos" | "Atan"
            | "Sinh" | "Cosh" | "Asinh" | "Acosh" | "Atanh" | "Shrink" => {
                let act = self.activation(node)?;
                let input = self.var(node, 0)?;
                let shape = self.graph.tensors[input].shape.clone();
                self.push(node, shape, |output| FloatOp::Activation {
                    node: name,
                    act,
                    input,
                    output,
                })
            }
            "Flatten" => {
                let input = self.var(node, 0)?;
                let shape = &self.graph.tensors[input].shape;
                let axis =
                    dims::normalize_axis(attr_int(node, "axis").unwrap_or(1), shape.len() + 1)
                        .ok_or_else(|| invalid(node, "axis out of range".into()))?;
                let outer: usize = shape[..axis].iter().product();
                let inner: usize = shape[axis..].iter().product();
                self.push(node, vec![outer, inner], |output| FloatOp::Reshape {
                    node: name,
                    input,
                    output,
                })
            }
            "Reshape" => {
                let input = self.var(node, 0)?;
                let target = self.constant(node, 1, "a computed target shape")?;
                let target: Vec<i64> = target.data.iter().map(|v| *v as i64).collect();
                let from = self.graph.tensors[input].shape.clone();
                let shape = dims::reshape_target(&from, &target).ok_or_else(|| {
                    invalid(node, format!("cannot reshape {from:?} to {target:?}"))
                })?;
                self.push(node, shape, |output| FloatOp::Reshape {
                    node: name,
                    input,
                    output,
                })
            }
            "Cast"
                if !matches!(
                    DataType::try_from(attr_int(node, "to").unwrap_or(0) as i32),
                    Ok(DataType::Float | DataType::Double | DataType::Float16 | DataType::Bfloat16)
                ) =>
            {
                self.cast_computed(node, name)
            }
            "Identity" | "Dropout" | "Cast" => {
                let input = self.var(node, 0)?;
                let shape = self.graph.tensors[input].shape.clone();
                self.push(node, shape, |output| FloatOp::Reshape {
                    node: name,
                    input,
                    output,
                })
            }
            _ => Err(unsupported(node, "")),
        }
    }

    /// The element-wise function of an activation node, with ONNX's attribute defaults.
    fn activation(&self, node: &NodeProto) -> Result<Activation> {
        let p = |name: &str, default: f32| {
            Param::new(attr_float(node, name).map_or(default, |v| v as f32))
        };
        Ok(match node.op_type.as_str() {
            "Relu" => Activation::Relu,
            "Sigmoid" => Activation::Sigmoid,
            "Tanh" => Activation::Tanh,
            "LeakyRelu" => Activation::LeakyRelu {
                alpha: p("alpha", 0.01),
            },
            "Elu" => Activation::Elu {
                alpha: p("alpha", 1.0),
            },
            "Selu" => Activation::Selu {
                alpha: p("alpha", 1.673_263_2),
                gamma: p("gamma", 1.050_701),
            },
            "Celu" => Activation::Celu {
                alpha: p("alpha", 1.0),
            },
            "HardSigmoid" => Activation::HardSigmoid {
                alpha: p("alpha", 0.2),
                beta: p("beta", 0.5),
            },
            "HardSwish" => Activation::HardSwish,
            "Softplus" => Activation::Softplus,
            "Softsign" => Activation::Softsign,
            "Abs" => Activation::Abs,
            "Neg" => Activation::Neg,
            "Erf" => Activation::Erf,
            "Exp" => Activation::Exp,
            "Log" => Activation::Log,
            "Sqrt" => Activation::Sqrt,
            "Reciprocal" => Activation::Reciprocal,
            "Sign" => Activation::Sign,
            "Floor" => Activation::Floor,
            "Ceil" => Activation::Ceil,
            "Round" => Activation::Round,
            "Mish" => Activation::Mish,
            "Sin" => Activation::Sin,
            "Cos" => Activation::Cos,
            "Tan" => Activation::Tan,
            "Asin" => Activation::Asin,
            "Acos" => Activation::Acos,
            "Atan" => Activation::Atan,
            "Sinh" => Activation::Sinh,
            "Cosh" => Activation::Cosh,
            "Asinh" => Activation::Asinh,
            "Acosh" => Activation::Acosh,
            "Atanh" => Activation::Atanh,
            "Shrink" => Activation::Shrink {
                lambd: p("lambd", 0.5),
                bias: p("bias", 0.0),
            },
            "ThresholdedRelu" => Activation::ThresholdedRelu {
                alpha: p("alpha", 1.0),
            },
            "Gelu" => match attr_string(node, "approximate").as_deref() {
                None | Some("none") => Activation::Gelu,
                Some("tanh") => Activation::GeluTanh,
                Some(other) => {
                    return Err(invalid(
                        node,
                        format!("unknown GELU approximation `{other}`"),
                    ))
                }
            },
            "Clip" => {
                // opset ≥ 11: optional constant inputs; opset 6: attributes.
                let bound = |i: usize, attr: &str, default: f32| -> Result<Param> {
                    match node.input.get(i).filter(|s| !s.is_empty()) {
                        Some(_) => {
                            let c = self.constant(node, i, "a computed clip bound")?;
                            c.data
                                .first()
                                .map(|v| Param::new(*v as f32))
                                .ok_or_else(|| invalid(node, "empty clip bound".into()))
                        }
                        None => Ok(p(attr, default)),
                    }
                };
                Activation::Clip {
                    min: bound(1, "min", f32::NEG_INFINITY)?,
                    max: bound(2, "max", f32::INFINITY)?,
                }
            }
            _ => return Err(unsupported(node, "")),
        })
    }
}

fn node_name(node: &NodeProto) -> String {
    if !node.name.is_empty() {
        node.name.clone()
    } else {
        node.output
            .first()
            .cloned()
            .unwrap_or_else(|| node.op_type.clone())
    }
}

fn unsupported(node: &NodeProto, detail: &str) -> CircuitError {
    CircuitError::UnsupportedOp {
        op: node.op_type.clone(),
        node: node_name(node),
        detail: if detail.is_empty() {
            String::new()
        } else {
            format!(": {detail}")
        },
    }
}

fn invalid(node: &NodeProto, reason: String) -> CircuitError {
    CircuitError::InvalidModel {
        node: node_name(node),
        reason,
    }
}
