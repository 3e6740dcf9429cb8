//! Sizing a lowered model: which linear layers take randomized checks, one- or two-row
//! rescales, and split identity checks, whichever gives the smallest `k` (ties to the fewer
//! columns); the model laid out and its rows and `k` set.

use super::{min_k, CompiledModel, LayoutParams, Tables};
use crate::error::Result;
use crate::layout;
use crate::model::Activation;
use crate::ops::linear::{choose_checks, randomized_savings, LinearMode};

/// Checks the linear layers as `linear` says and sizes the circuit at `width`, with one-row
/// rescales where they lower `k`. `auto`'s randomized checks are kept only where they lower
/// `k` too: a circuit as large as without them would only carry their extra columns. One plan
/// is laid out, and a second only for another variant; the others' rows are counted (the
/// randomized checks' savings, one-row rescales' savings) rather than laid out.
pub(super) fn size(
    mut model: CompiledModel,
    linear: LinearMode,
    width: usize,
) -> Result<CompiledModel> {
    choose_checks(&mut model, linear, width);
    let (mut model, plan) = two_row_layout(model, width)?;
    let back = if linear == LinearMode::Auto {
        randomized_savings(&model, width)
    } else {
        0
    };
    let one_row = one_row_tables(&model.tables, &plan);
    let split = split_tables(&one_row);
    // The smallest k of the layouts (two-row rescales, one-row, one-row with split identity
    // checks), with the randomized checks or (`direct`) with dot products instead: `back`
    // rows more, and no randomized checks to fuse with rescales.
    let best_k = |direct: bool| {
        let (extra, unfused) = if direct {
            (back, plan.fused_savings)
        } else {
            (0, 0)
        };
        let compact = plan.rows + extra - (plan.one_row_savings - unfused);
        let k = min_k(plan.rows + extra, model.tables.rows()).min(min_k(compact, one_row.rows()));
        split.as_ref().map_or(k, |t| {
            k.min(min_k(compact + plan.identity_rescales, t.rows()))
        })
    };
    // Ties go to the fewer columns: direct checks.
    if back > 0 && best_k(true) <= best_k(false) {
        choose_checks(&mut model, LinearMode::Direct, width);
        let (model, plan) = two_row_layout(model, width)?;
        return fewer_rescale_rows(model, &plan);
    }
    fewer_rescale_rows(model, &plan)
}

/// `model` (its checks chosen) laid out at `width` with two-row rescales: rows and `k` set;
/// the plan for what other layouts would save.
fn two_row_layout(mut model: CompiledModel, width: usize) -> Result<(CompiledModel, layout::Plan)> {
    model.layout = LayoutParams {
        width,
        k: 0,
        one_row_rescale: false,
    };
    let plan = layout::Plan::build(&model, width, None)?;
    model.rows = plan.rows;
    model.layout.k = min_k(model.rows, model.tables.rows());
    Ok((model, plan))
}

/// `model` with one-row rescales if they lower its `k` (`two_rows`: its two-row plan), else
/// as it is (ties go to the fewer columns).
fn fewer_rescale_rows(model: CompiledModel, two_rows: &layout::Plan) -> Result<CompiledModel> {
    let tables = one_row_tables(&model.tables, two_rows);
    let rows = two_rows.rows - two_rows.one_row_savings;
    let one_row = min_k(rows, tables.rows());
    let split = split_tables(&tables)
        .map(|t| min_k(rows + two_rows.identity_rescales, t.rows()))
        .filter(|k| *k < one_row.min(model.layout.k));
    if split.is_some() {
        return with_split_identity(with_one_row_rescales(model, two_rows)?);
    }
    if one_row < model.layout.k {
        return with_one_row_rescales(model, two_rows);
    }
    Ok(model)
}

/// `tables` (a model's with one-row rescales) with the identity's checks split
/// ([`Tables::identity_split`]) at the low width that makes the table smallest (an existing
/// range table where one serves), if that is smaller than the identity table; `None`
/// otherwise, or with limbs.
fn split_tables(tables: &Tables) -> Option<Tables> {
    let bits = *tables.activations.get(&Activation::Identity)?;
    if tables.limb_bits.is_some() || tables.identity_split.is_some() || bits < 2 {
        return None;
    }
    let half = bits.div_ceil(2);
    tables
        .range_shifts
        .iter()
        .copied()
        .filter(|s| (half..=bits).contains(s))
        .chain([half])
        .map(|s| {
            let mut t = tables.clone();
            t.identity_split = Some(s);
            let (lo, hi) = t.split_identity().expect("the identity has a table");
            for b in [lo, hi].into_iter().filter(|b| *b > 0) {
                t.need_range(b);
            }
            t
        })
        .min_by_key(|t| (t.rows(), std::cmp::Reverse(t.identity_split)))
        .filter(|t| t.rows() < tables.rows())
}

/// `model` (laid out with one-row rescales) with its identity checks split
/// ([`Tables::identity_split`]) where that makes its table smaller; rows and `k` updated.
pub fn with_split_identity(mut model: CompiledModel) -> Result<CompiledModel> {
    if let Some(tables) = split_tables(&model.tables) {
        model.tables = tables;
        model.rows = layout::Plan::build(&model, model.layout.width, None)?.rows;
        model.layout.k = min_k(model.rows, model.tables.rows());
    }
    Ok(model)
}

/// The tables of a model with one-row rescales: each remainder is looked up in the whole
/// range table of its rescale's shift (`two_rows`: the plan of its two-row layout).
fn one_row_tables(tables: &Tables, two_rows: &layout::Plan) -> Tables {
    let mut tables = tables.clone();
    for shift in &two_rows.rescale_shifts {
        if !tables.range_shifts.contains(shift) {
            tables.range_shifts.push(*shift);
        }
    }
    tables
}

/// `model` laid out with one-row rescales (a second lookup checks each remainder on its
/// rescale's row), given `two_rows`, the plan of its two-row layout; rows and `k` updated.
/// The compiler takes this layout where it lowers `k`.
pub fn with_one_row_rescales(
    mut model: CompiledModel,
    two_rows: &layout::Plan,
) -> Result<CompiledModel> {
    model.tables = one_row_tables(&model.tables, two_rows);
    model.layout.one_row_rescale = true;
    model.rows = layout::Plan::build(&model, model.layout.width, None)?.rows;
    model.layout.k = min_k(model.rows, model.tables.rows());
    Ok(model)
}
