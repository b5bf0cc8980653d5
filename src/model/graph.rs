//! The graph's declared inputs and outputs, checked against the metadata before any run.

use std::path::Path;

use tract_onnx::pb;

use super::error::ModelError;
use super::meta::{AFFECT_NAMES, StateSpec};

/// Why a graph's output count is wrong, for a model with or without an affect output
/// and with `state` state tensors after them (streaming models).
pub(super) fn output_count_message(outputs: usize, has_affect: bool, state: usize) -> String {
    if state > 0 {
        let affect = if has_affect {
            ", arousal and valence"
        } else {
            ""
        };
        format!(
            "model has {outputs} outputs; its metadata lists {state} state tensors, so emotty \
             needs {}: the probabilities{affect}, then the new state",
            1 + usize::from(has_affect) + state
        )
    } else if has_affect {
        format!(
            "model has {outputs} outputs; its metadata lists affect, so emotty needs two: \
             [batch, labels] and [batch, 2]"
        )
    } else {
        format!("model has {outputs} outputs; emotty needs exactly one [batch, labels] output")
    }
}

/// Checks the input and output the graph declares, before tract sees it.
///
/// tract is told to ignore declared shapes (they freeze the batch axis with some
/// exporters), so the declaration is read here instead: it gives far clearer errors
/// than a shape clash deep inside the graph.
pub(super) fn check_declared_io(
    path: &Path,
    graph: &pb::GraphProto,
    feature_dim: usize,
    n_labels: usize,
    has_affect: bool,
    state: &[StateSpec],
) -> Result<(), ModelError> {
    let bad = |reason: String| ModelError::BadGraph {
        path: path.to_owned(),
        reason,
    };
    // Older IR versions list initializers among the inputs; they are weights, not inputs.
    let inputs: Vec<&pb::ValueInfoProto> = graph
        .input
        .iter()
        .filter(|input| !graph.initializer.iter().any(|init| init.name == input.name))
        .collect();
    if inputs.len() != 1 + state.len() {
        return Err(bad(if state.is_empty() {
            format!(
                "model has {} inputs; emotty needs exactly one [batch, time, features] input",
                inputs.len()
            )
        } else {
            format!(
                "model has {} inputs; its metadata lists {} state tensors, so emotty needs {}: \
                 the features, then the state",
                inputs.len(),
                state.len(),
                1 + state.len()
            )
        }));
    }
    let input = inputs[0];
    for (value, spec) in inputs[1..].iter().zip(state) {
        if let Some(dims) = declared_dims(value)
            && dims.len() == spec.shape.len()
            && dims
                .iter()
                .zip(&spec.shape)
                .any(|(d, s)| d.is_some_and(|d| d != *s))
        {
            return Err(bad(format!(
                "model input \"{}\" is declared {:?}; the metadata's state \"{}\" is {:?}",
                value.name,
                dims.iter().map(|d| d.unwrap_or(0)).collect::<Vec<_>>(),
                spec.name,
                spec.shape
            )));
        }
    }
    if let Some(dims) = declared_dims(input) {
        if dims.len() != 3 {
            return Err(bad(format!(
                "model input \"{}\" has rank {}; emotty needs [batch, time, features]",
                input.name,
                dims.len()
            )));
        }
        if let Some(model) = dims[2]
            && model != feature_dim
        {
            return Err(ModelError::FeatureDimMismatch {
                path: path.to_owned(),
                model,
                frontend: feature_dim,
            });
        }
    }
    if let Some(elem_type) = declared_elem_type(input)
        && elem_type != pb::tensor_proto::DataType::Float as i32
    {
        return Err(bad(format!(
            "model input \"{}\" is not float32 (ONNX element type {elem_type})",
            input.name
        )));
    }
    let ours = 1 + usize::from(has_affect);
    if graph.output.len() != ours + state.len() {
        return Err(bad(output_count_message(
            graph.output.len(),
            has_affect,
            state.len(),
        )));
    }
    let output = match (&graph.output[..ours], has_affect) {
        ([output], false) => output,
        ([output, affect], true) => {
            if let Some(dims) = declared_dims(affect)
                && let [_, Some(n)] = dims.as_slice()
                && *n != AFFECT_NAMES.len()
            {
                return Err(bad(format!(
                    "model's affect output \"{}\" has {n} values; emotty needs 2 (arousal, valence)",
                    affect.name
                )));
            }
            output
        }
        (outputs, _) => {
            return Err(bad(output_count_message(
                outputs.len(),
                has_affect,
                state.len(),
            )));
        }
    };
    if let Some(dims) = declared_dims(output)
        && let [_, Some(outputs)] = dims.as_slice()
        && *outputs != n_labels
    {
        return Err(ModelError::LabelCountMismatch {
            path: path.to_owned(),
            outputs: *outputs,
            labels: n_labels,
        });
    }
    Ok(())
}

/// The declared dimensions of a graph input or output (`None` per symbolic axis),
/// or `None` when no shape is declared.
fn declared_dims(value: &pb::ValueInfoProto) -> Option<Vec<Option<usize>>> {
    let tensor = declared_tensor(value)?;
    let shape = tensor.shape.as_ref()?;
    Some(
        shape
            .dim
            .iter()
            .map(|dim| match dim.value {
                Some(pb::tensor_shape_proto::dimension::Value::DimValue(v)) => {
                    usize::try_from(v).ok().filter(|&v| v > 0)
                }
                _ => None,
            })
            .collect(),
    )
}

fn declared_elem_type(value: &pb::ValueInfoProto) -> Option<i32> {
    declared_tensor(value).map(|tensor| tensor.elem_type)
}

/// The declared tensor type of a graph input or output, if any (tract's ONNX
/// protobuf knows only tensor types).
fn declared_tensor(value: &pb::ValueInfoProto) -> Option<&pb::type_proto::Tensor> {
    let pb::type_proto::Value::TensorType(tensor) = value.r#type.as_ref()?.value.as_ref()?;
    Some(tensor)
}
