//! Shape arithmetic on static shapes and flat indices (numpy broadcasting, ONNX's axis,
//! squeeze and reshape rules), shared by the importers of every op family.

/// The multi-index of a flat index (the model's own, which convolutions use too).
pub(super) use crate::model::conv::unravel;

/// The flat index of a multi-index.
pub(super) fn ravel(index: &[usize], dims: &[usize]) -> usize {
    index.iter().zip(dims).fold(0, |f, (i, d)| f * d + i)
}

/// Numpy-style broadcast of `data` (shape `from`) to shape `to`.
pub(super) fn broadcast(from: &[usize], data: &[f64], to: &[usize]) -> Option<Vec<f64>> {
    if from.len() > to.len() {
        // Leading 1s may be dropped (a `[1, n]` bias for `[n]` outputs).
        let extra = from.len() - to.len();
        if from[..extra].iter().any(|d| *d != 1) {
            return None;
        }
        return broadcast(&from[extra..], data, to);
    }
    let pad = to.len() - from.len();
    let from: Vec<usize> = std::iter::repeat_n(1, pad)
        .chain(from.iter().copied())
        .collect();
    if from.iter().zip(to).any(|(f, t)| *f != 1 && f != t) {
        return None;
    }
    let numel: usize = to.iter().product();
    let mut out = Vec::with_capacity(numel);
    for flat in 0..numel {
        let (mut rem, mut src, mut stride) = (flat, 0usize, 1usize);
        let mut src_strides = vec![0usize; to.len()];
        for d in (0..to.len()).rev() {
            src_strides[d] = stride;
            stride *= from[d];
        }
        for d in (0..to.len()).rev() {
            let idx = rem % to[d];
            rem /= to[d];
            if from[d] != 1 {
                src += idx * src_strides[d];
            }
        }
        out.push(data[src]);
    }
    Some(out)
}

pub(super) fn squeeze(from: &[usize], axes: &[i64]) -> Option<Vec<usize>> {
    let rank = from.len() as i64;
    let axes: Vec<usize> = axes
        .iter()
        .map(|a| if *a < 0 { a + rank } else { *a })
        .map(|a| usize::try_from(a).ok())
        .collect::<Option<_>>()?;
    if axes.is_empty() {
        return Some(from.iter().copied().filter(|d| *d != 1).collect());
    }
    if axes.iter().any(|a| from.get(*a) != Some(&1)) {
        return None;
    }
    Some(
        from.iter()
            .enumerate()
            .filter(|(a, _)| !axes.contains(a))
            .map(|(_, d)| *d)
            .collect(),
    )
}

pub(super) fn unsqueeze(from: &[usize], axes: &[i64]) -> Option<Vec<usize>> {
    let rank = (from.len() + axes.len()) as i64;
    let mut axes: Vec<usize> = axes
        .iter()
        .map(|a| if *a < 0 { a + rank } else { *a })
        .map(|a| usize::try_from(a).ok())
        .collect::<Option<_>>()?;
    axes.sort_unstable();
    let mut out = from.to_vec();
    for a in axes {
        if a > out.len() {
            return None;
        }
        out.insert(a, 1);
    }
    Some(out)
}

pub(super) fn reshape_target(from: &[usize], target: &[i64]) -> Option<Vec<usize>> {
    let numel: usize = from.iter().product();
    let mut shape = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, d) in target.iter().enumerate() {
        match *d {
            0 => shape.push(*from.get(i)?),
            -1 if infer.is_none() => {
                infer = Some(i);
                shape.push(1);
            }
            d if d > 0 => shape.push(d as usize),
            _ => return None,
        }
    }
    // A target too large to count (a crafted constant) is no reshape of `from`.
    let product = |s: &[usize]| s.iter().try_fold(1usize, |a, d| a.checked_mul(*d));
    let known = product(&shape)?;
    if let Some(i) = infer {
        if known == 0 || numel % known != 0 {
            return None;
        }
        shape[i] = numel / known;
    }
    (product(&shape)? == numel).then_some(shape)
}

/// An ONNX axis (negative counts from the end) of a tensor of `rank` axes.
pub(super) fn axis_index(axis: i64, rank: usize) -> Option<usize> {
    let a = if axis < 0 { axis + rank as i64 } else { axis };
    (0..rank as i64).contains(&a).then_some(a as usize)
}

/// A Flatten-style axis: one of the `rank` split points (`rank` is the tensor's rank plus one).
pub(super) fn normalize_axis(axis: i64, rank: usize) -> Option<usize> {
    let a = if axis < 0 {
        axis + rank as i64 - 1
    } else {
        axis
    };
    (0..rank as i64).contains(&a).then_some(a as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_follows_numpy_rules() {
        assert_eq!(
            broadcast(&[3], &[1.0, 2.0, 3.0], &[2, 3]).unwrap(),
            vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0]
        );
        assert_eq!(
            broadcast(&[2, 1], &[1.0, 2.0], &[2, 3]).unwrap(),
            vec![1.0, 1.0, 1.0, 2.0, 2.0, 2.0]
        );
        assert_eq!(
            broadcast(&[1, 3], &[1.0, 2.0, 3.0], &[3]).unwrap(),
            vec![1.0, 2.0, 3.0]
        );
        assert!(broadcast(&[2], &[1.0, 2.0], &[3]).is_none());
    }

    #[test]
    fn squeeze_and_unsqueeze_follow_onnx_axes() {
        assert_eq!(squeeze(&[1, 3, 1, 2], &[0, -2]), Some(vec![3, 2]));
        assert_eq!(squeeze(&[1, 3, 1], &[]), Some(vec![3]));
        assert_eq!(squeeze(&[2, 3], &[0]), None);
        assert_eq!(unsqueeze(&[3, 2], &[0, 3]), Some(vec![1, 3, 2, 1]));
        assert_eq!(unsqueeze(&[3], &[-1]), Some(vec![3, 1]));
    }

    #[test]
    fn reshape_target_handles_zero_and_minus_one() {
        assert_eq!(reshape_target(&[1, 2, 4], &[0, -1]), Some(vec![1, 8]));
        assert_eq!(reshape_target(&[1, 3], &[3]), Some(vec![3]));
        assert_eq!(reshape_target(&[1, 3], &[2, -1]), None);
        assert_eq!(reshape_target(&[1, 3], &[1 << 40, 1 << 40, 3]), None);
    }
}
