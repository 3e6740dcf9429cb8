//! What an aggregated proof exposes of its inner proofs' instances ([`Expose`]): the spec's
//! items, their text form (`--expose`), their native evaluation, how a spec is localized or
//! lifted over the layers of an aggregation tree, and [`combine`], the constraints the
//! aggregation circuit adds for it.

use crate::error::{CircuitError, Result};
use crate::Fr;
use serde::{Deserialize, Serialize};
use snark_verifier_sdk::snark_verifier::halo2_base::gates::{GateChip, GateInstructions};
use snark_verifier_sdk::snark_verifier::halo2_base::{AssignedValue, Context};
use std::fmt;
use std::str::FromStr;

/// One value computed from the inner proofs' instances and exposed by the aggregated proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExposeItem {
    /// Instance `index` of proof `proof`, as is.
    Instance {
        /// Which inner proof (0-based, in the order given).
        proof: usize,
        /// Which of its instances.
        index: usize,
    },
    /// The sum over every proof of its instance `index`.
    Sum {
        /// The instance summed.
        index: usize,
    },
    /// Every proof has the same instance `index` (constrained); it is exposed once.
    Equal {
        /// The instance compared.
        index: usize,
    },
    /// One link: proof `proof`'s instance `output` equals proof `to`'s instance `input`
    /// (constrained; `to` later than `proof`, the next one unless a tensor skips segments);
    /// exposes nothing (a split model's boundary commitments).
    Link {
        /// The proof whose instance `output` links to proof `to`.
        proof: usize,
        /// Its instance.
        output: usize,
        /// The proof it links to.
        to: usize,
        /// That proof's instance.
        input: usize,
    },
    /// A chain: proof `i`'s instance `output` equals proof `i+1`'s instance `input`
    /// (constrained); exposes the first proof's `input` and the last proof's `output`.
    Chain {
        /// The instance holding a proof's incoming link.
        input: usize,
        /// The instance holding a proof's outgoing link.
        output: usize,
    },
}

/// What the aggregated proof exposes of the inner proofs' instances.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Expose {
    /// Every instance of every inner proof, in order.
    All,
    /// Nothing but the accumulator.
    #[default]
    None,
    /// The listed values, in order.
    Items(Vec<ExposeItem>),
}

impl fmt::Display for ExposeItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Instance { proof, index } => write!(f, "instance:{proof}:{index}"),
            Self::Sum { index } => write!(f, "sum:{index}"),
            Self::Equal { index } => write!(f, "equal:{index}"),
            Self::Chain { input, output } => write!(f, "chain:{input}:{output}"),
            Self::Link {
                proof,
                output,
                to,
                input,
            } if *to == proof + 1 => write!(f, "link:{proof}:{output}:{input}"),
            Self::Link {
                proof,
                output,
                to,
                input,
            } => write!(f, "link:{proof}:{output}:{to}:{input}"),
        }
    }
}

impl fmt::Display for Expose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("all"),
            Self::None => f.write_str("none"),
            Self::Items(items) => {
                let parts: Vec<String> = items.iter().map(ToString::to_string).collect();
                f.write_str(&parts.join(","))
            }
        }
    }
}

impl FromStr for ExposeItem {
    type Err = CircuitError;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| {
            CircuitError::bad_option(
                "expose",
                format!(
                    "bad expose item `{s}`: {why} (expected instance:P:I, sum:I, equal:I, chain:IN:OUT, link:P:OUT:IN or link:P:OUT:Q:IN)"
                ),
            )
        };
        let mut parts = s.split(':');
        let kind = parts.next().unwrap_or_default();
        let nums: Vec<usize> = parts
            .map(|p| p.trim().parse().map_err(|_| bad("not a number")))
            .collect::<Result<_>>()?;
        match (kind.trim(), nums.as_slice()) {
            ("instance", [proof, index]) => Ok(Self::Instance {
                proof: *proof,
                index: *index,
            }),
            ("sum", [index]) => Ok(Self::Sum { index: *index }),
            ("equal", [index]) => Ok(Self::Equal { index: *index }),
            ("chain", [input, output]) => Ok(Self::Chain {
                input: *input,
                output: *output,
            }),
            ("link", [proof, output, input]) => Ok(Self::Link {
                proof: *proof,
                output: *output,
                to: proof + 1,
                input: *input,
            }),
            ("link", [proof, output, to, input]) if to > proof => Ok(Self::Link {
                proof: *proof,
                output: *output,
                to: *to,
                input: *input,
            }),
            ("link", [_, _, _, _]) => Err(bad("a link goes to a later proof")),
            ("instance" | "sum" | "equal" | "chain" | "link", _) => {
                Err(bad("wrong number of indices"))
            }
            _ => Err(bad("unknown kind")),
        }
    }
}

impl FromStr for Expose {
    type Err = CircuitError;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "all" => Ok(Self::All),
            "none" | "" => Ok(Self::None),
            list => Ok(Self::Items(
                list.split(',')
                    .map(ExposeItem::from_str)
                    .collect::<Result<_>>()?,
            )),
        }
    }
}

impl Serialize for Expose {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Expose {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Expose {
    /// Checks every index against the inner proofs' instance counts.
    pub fn check(&self, num_instances: &[usize]) -> Result<()> {
        let Self::Items(items) = self else {
            return Ok(());
        };
        if items.is_empty() {
            return Err(CircuitError::bad_option("expose", "empty expose list"));
        }
        let common = num_instances.iter().copied().min().unwrap_or(0);
        for item in items {
            let ok = match *item {
                ExposeItem::Instance { proof, index } => {
                    num_instances.get(proof).is_some_and(|n| index < *n)
                }
                ExposeItem::Sum { index } | ExposeItem::Equal { index } => index < common,
                ExposeItem::Chain { input, output } => input < common && output < common,
                ExposeItem::Link {
                    proof,
                    output,
                    to,
                    input,
                } => {
                    num_instances.get(proof).is_some_and(|n| output < *n)
                        && num_instances.get(to).is_some_and(|n| input < *n)
                }
            };
            if !ok {
                return Err(CircuitError::bad_option(
                    "expose",
                    format!(
                        "expose item `{item}` is out of range: the inner proofs have {num_instances:?} public instances"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// How many values the spec exposes from inner proofs with `num_instances` values each
    /// (their claims: the instances after any accumulator), the accumulator not counted.
    pub fn exposed_len(&self, num_instances: &[usize]) -> usize {
        match self {
            Self::All => num_instances.iter().sum(),
            Self::None => 0,
            Self::Items(items) => items
                .iter()
                .map(|item| match item {
                    ExposeItem::Link { .. } => 0,
                    ExposeItem::Chain { .. } => 2,
                    _ => 1,
                })
                .sum(),
        }
    }

    /// The values exposed, computed natively from the inner proofs' instances (what the
    /// circuit computes and constrains). Fails where an equality or chain does not hold.
    pub fn evaluate(&self, instances: &[Vec<Fr>]) -> Result<Vec<Fr>> {
        let n: Vec<usize> = instances.iter().map(Vec::len).collect();
        self.check(&n)?;
        let items = match self {
            Self::All => return Ok(instances.concat()),
            Self::None => return Ok(Vec::new()),
            Self::Items(items) => items,
        };
        let mut out = Vec::new();
        for item in items {
            match *item {
                ExposeItem::Instance { proof, index } => out.push(instances[proof][index]),
                ExposeItem::Sum { index } => out.push(instances.iter().map(|p| p[index]).sum()),
                ExposeItem::Equal { index } => {
                    if let Some(p) = instances
                        .iter()
                        .position(|p| p[index] != instances[0][index])
                    {
                        return Err(CircuitError::Incompatible(format!(
                            "`{item}`: proof {p}'s instance {index} differs from proof 0's"
                        )));
                    }
                    out.push(instances[0][index]);
                }
                ExposeItem::Chain { input, output } => {
                    for (i, w) in instances.windows(2).enumerate() {
                        if w[0][output] != w[1][input] {
                            return Err(CircuitError::Incompatible(format!(
                                "`{item}`: proof {i}'s instance {output} is not proof {}'s instance {input}",
                                i + 1
                            )));
                        }
                    }
                    out.push(instances[0][input]);
                    out.push(instances[instances.len() - 1][output]);
                }
                ExposeItem::Link {
                    proof,
                    output,
                    to,
                    input,
                } => {
                    if instances[proof][output] != instances[to][input] {
                        return Err(CircuitError::Incompatible(format!(
                            "`{item}`: proof {proof}'s instance {output} is not proof {to}'s instance {input}"
                        )));
                    }
                }
            }
        }
        Ok(out)
    }

    /// For a spec of `instance:P:I` and `link:P:OUT:IN` items only (a split model's), the spec
    /// each group of consecutive proofs applies (`sizes`: the groups' sizes, in order) and the
    /// spec the layer above applies to the groups' exposed values, so that the top exposes
    /// exactly what one flat aggregation would: an instance is exposed by its group and passed
    /// up; a link inside a group is constrained there; a link between two groups is exposed
    /// on both sides and becomes a link between them in the layer above. `None` for specs
    /// with other items (they lift: [`Self::lifted`]).
    pub fn localized(&self, sizes: &[usize]) -> Option<(Vec<Self>, Self)> {
        let Self::Items(items) = self else {
            return None;
        };
        if items
            .iter()
            .any(|i| !matches!(i, ExposeItem::Instance { .. } | ExposeItem::Link { .. }))
        {
            return None;
        }
        let mut group_of = Vec::new();
        let mut start = Vec::with_capacity(sizes.len());
        for (g, &n) in sizes.iter().enumerate() {
            start.push(group_of.len());
            group_of.extend(std::iter::repeat_n(g, n));
        }
        let mut local: Vec<Vec<ExposeItem>> = vec![Vec::new(); sizes.len()];
        let mut exposed = vec![0usize; sizes.len()];
        // Exposes instance `index` of proof `p` from its group; its position there.
        let mut expose = |local: &mut Vec<Vec<ExposeItem>>, p: usize, index: usize| {
            let g = group_of[p];
            local[g].push(ExposeItem::Instance {
                proof: p - start[g],
                index,
            });
            exposed[g] += 1;
            (g, exposed[g] - 1)
        };
        let mut upper = Vec::new();
        for item in items {
            match *item {
                ExposeItem::Instance { proof, index } => {
                    let (g, at) = expose(&mut local, proof, index);
                    upper.push(ExposeItem::Instance {
                        proof: g,
                        index: at,
                    });
                }
                ExposeItem::Link {
                    proof,
                    output,
                    to,
                    input,
                } if group_of[proof] == group_of[to] => {
                    let g = group_of[proof];
                    local[g].push(ExposeItem::Link {
                        proof: proof - start[g],
                        output,
                        to: to - start[g],
                        input,
                    });
                }
                ExposeItem::Link {
                    proof,
                    output,
                    to,
                    input,
                } => {
                    let (g, output) = expose(&mut local, proof, output);
                    let (h, input) = expose(&mut local, to, input);
                    upper.push(ExposeItem::Link {
                        proof: g,
                        output,
                        to: h,
                        input,
                    });
                }
                _ => unreachable!("only instances and links are localized"),
            }
        }
        let spec = |items: Vec<ExposeItem>| {
            if items.is_empty() {
                Self::None
            } else {
                Self::Items(items)
            }
        };
        Some((local.into_iter().map(spec).collect(), spec(upper)))
    }

    /// The spec an upper layer of an aggregation tree applies to the values the layer below
    /// exposed, so that the top exposes exactly what one aggregation of every inner proof
    /// would: a sum of sums, an equality of equalities, a chain of chains, all in order.
    /// `instance:P:I` names one inner proof and does not lift.
    pub fn lifted(&self) -> Result<Self> {
        let Self::Items(items) = self else {
            return Ok(self.clone());
        };
        let mut at = 0;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match *item {
                ExposeItem::Instance { .. } | ExposeItem::Link { .. } => {
                    return Err(CircuitError::bad_option(
                        "expose",
                        format!(
                            "expose item `{item}` names one inner proof and cannot be aggregated in layers: expose `all`, or aggregate in one layer (--arity 0 --no-compress)"
                        ),
                    ))
                }
                ExposeItem::Sum { .. } => out.push(ExposeItem::Sum { index: at }),
                ExposeItem::Equal { .. } => out.push(ExposeItem::Equal { index: at }),
                ExposeItem::Chain { .. } => {
                    out.push(ExposeItem::Chain {
                        input: at,
                        output: at + 1,
                    });
                    at += 1;
                }
            }
            at += 1;
        }
        Ok(Self::Items(out))
    }
}

/// Adds the constraints of `expose` over the (private) inner instances to `ctx` and returns
/// the cells to expose. This is the whole of the combining logic; tests run it on its own.
pub fn combine(
    ctx: &mut Context<Fr>,
    gate: &GateChip<Fr>,
    previous: &[Vec<AssignedValue<Fr>>],
    expose: &Expose,
) -> Vec<AssignedValue<Fr>> {
    let items = match expose {
        Expose::All => return previous.concat(),
        Expose::None => return Vec::new(),
        Expose::Items(items) => items,
    };
    let mut out = Vec::new();
    for item in items {
        match *item {
            ExposeItem::Instance { proof, index } => out.push(previous[proof][index]),
            ExposeItem::Sum { index } => out.push(gate.sum(ctx, previous.iter().map(|p| p[index]))),
            ExposeItem::Equal { index } => {
                for p in &previous[1..] {
                    ctx.constrain_equal(&previous[0][index], &p[index]);
                }
                out.push(previous[0][index]);
            }
            ExposeItem::Chain { input, output } => {
                for w in previous.windows(2) {
                    ctx.constrain_equal(&w[0][output], &w[1][input]);
                }
                out.push(previous[0][input]);
                out.push(previous[previous.len() - 1][output]);
            }
            ExposeItem::Link {
                proof,
                output,
                to,
                input,
            } => ctx.constrain_equal(&previous[proof][output], &previous[to][input]),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposed_len_counts_what_evaluate_exposes() {
        // Three proofs of 4, 4 and 5 instances whose instance 1 is equal and 3 -> 0 chains.
        let proofs: Vec<Vec<Fr>> = [[7u64, 1, 2, 8, 0], [8, 1, 3, 9, 0], [9, 1, 4, 10, 6]]
            .iter()
            .enumerate()
            .map(|(p, v)| v[..4 + p / 2].iter().map(|x| Fr::from(*x)).collect())
            .collect();
        let counts: Vec<usize> = proofs.iter().map(Vec::len).collect();
        for spec in [
            "all",
            "none",
            "sum:2",
            "equal:1,sum:2",
            "chain:0:3,instance:2:4",
            "instance:0:0,link:0:3:1:0,link:1:3:2:0,instance:2:4",
        ] {
            let expose: Expose = spec.parse().unwrap();
            let exposed = expose.evaluate(&proofs).unwrap();
            assert_eq!(expose.exposed_len(&counts), exposed.len(), "{spec}");
        }
    }
}
