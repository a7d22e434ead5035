//! Problem files `syncsim anneal` reads.
//!
//! **Max-Cut, the Gset/rudy edge list**: a header `n m` (vertices, edges; anything after the
//! two numbers is ignored, as Gset's `800 19176 J`), then `m` lines `i j w`: 1-based vertices
//! and an integer or decimal weight. Undirected; repeated pairs add up.
//!
//! **QUBO**: a header `qubo n`, then lines `i j v` with 0-based indices: `i == j` is the
//! linear term of bit `i`, `i != j` the quadratic term of the pair (repeats add up); an
//! optional line `offset v`. `#` starts a comment. The energy minimised is
//! `Σ_i q_i x_i + Σ_{i<j} Q_ij x_i x_j + offset` over bits `x_i ∈ {0, 1}`.
//!
//! Both accept CRLF line endings and blank lines.

use std::fmt;

use super::model::{Ising, Qubo};

/// Most variables a problem file may declare.
pub const MAX_VARIABLES: usize = 10_000_000;

/// A problem read from a file.
#[derive(Clone, Debug, PartialEq)]
pub enum Problem {
    /// Max-Cut of a weighted graph.
    MaxCut {
        /// Vertices.
        n: usize,
        /// Edges, 0-based, with their weights.
        edges: Vec<(u32, u32, f64)>,
    },
    /// A QUBO to minimise.
    Qubo(Qubo),
}

impl Problem {
    /// The Ising model whose ground state solves the problem (for Max-Cut, `J_ij = w_ij`: a cut
    /// edge contributes `-w`, so the lowest energy is the largest cut).
    pub fn ising(&self) -> Ising {
        match self {
            Problem::MaxCut { n, edges } => Ising::new(*n, vec![], edges, 0.0),
            Problem::Qubo(q) => q.to_ising(),
        }
    }

    /// The weight of the cut that `spins` make (Max-Cut only).
    pub fn cut(&self, spins: &[i8]) -> Option<f64> {
        match self {
            Problem::MaxCut { edges, .. } => {
                Some(edges.iter().filter(|&&(a, b, _)| spins[a as usize] != spins[b as usize]).map(|e| e.2).sum())
            }
            Problem::Qubo(_) => None,
        }
    }
}

/// What is wrong with a problem file, and on which line (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The line.
    pub line: usize,
    /// The problem.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Reads a Max-Cut graph or a QUBO, telling them apart by the header.
pub fn parse(text: &str) -> Result<Problem, ParseError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.split('#').next().unwrap_or("").trim()))
        .filter(|(_, l)| !l.is_empty());
    let (hl, header) = lines.next().ok_or(ParseError { line: 1, message: "the file is empty".into() })?;
    let err = |line: usize, message: String| ParseError { line, message };
    let fields: Vec<&str> = header.split_whitespace().collect();
    let count = |s: &str, what: &str, line: usize| -> Result<usize, ParseError> {
        let n: usize = s.parse().map_err(|_| err(line, format!("{what} must be a whole number, not `{s}`")))?;
        if n > MAX_VARIABLES {
            return Err(err(line, format!("{n} {what} is more than the limit of {MAX_VARIABLES}")));
        }
        Ok(n)
    };
    let number = |s: &str, line: usize| -> Result<f64, ParseError> {
        s.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| err(line, format!("`{s}` is not a number")))
    };
    if fields.first() == Some(&"qubo") {
        let n = count(
            fields.get(1).ok_or_else(|| err(hl, "write the header as `qubo <variables>`".into()))?,
            "variables",
            hl,
        )?;
        let mut q = Qubo { linear: vec![0.0; n], quadratic: Vec::new(), offset: 0.0 };
        for (ln, line) in lines {
            let f: Vec<&str> = line.split_whitespace().collect();
            match f.as_slice() {
                ["offset", v] => q.offset += number(v, ln)?,
                [i, j, v] => {
                    let (i, j, v) = (count(i, "indices", ln)?, count(j, "indices", ln)?, number(v, ln)?);
                    if i >= n || j >= n {
                        return Err(err(
                            ln,
                            format!("index {} is out of range: the header declares {n} variables (0-based)", i.max(j)),
                        ));
                    }
                    if i == j {
                        q.linear[i] += v;
                    } else {
                        q.quadratic.push((i as u32, j as u32, v));
                    }
                }
                _ => return Err(err(ln, format!("expected `i j value` or `offset value`, found `{line}`"))),
            }
        }
        return Ok(Problem::Qubo(q));
    }
    let (n, m) = match fields.as_slice() {
        [n, m, ..] => (count(n, "vertices", hl)?, count(m, "edges", hl)?),
        _ => return Err(err(hl, format!("expected a header `vertices edges` (Gset) or `qubo n`, found `{header}`"))),
    };
    let mut edges = Vec::with_capacity(m);
    for (ln, line) in lines {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [a, b, w] = f.as_slice() else {
            return Err(err(ln, format!("expected an edge `i j weight`, found `{line}`")));
        };
        let (a, b, w) = (count(a, "vertices", ln)?, count(b, "vertices", ln)?, number(w, ln)?);
        if a == 0 || b == 0 || a > n || b > n {
            return Err(err(
                ln,
                format!(
                    "vertex {} is out of range: vertices are numbered 1..={n}",
                    if a == 0 || a > n { a } else { b }
                ),
            ));
        }
        if a == b {
            return Err(err(ln, format!("a self-loop on vertex {a} cannot be cut")));
        }
        edges.push(((a - 1) as u32, (b - 1) as u32, w));
    }
    if edges.len() != m {
        return Err(err(hl, format!("the header declares {m} edges but the file lists {}", edges.len())));
    }
    Ok(Problem::MaxCut { n, edges })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_gset_with_its_quirks_and_qubo() {
        let g = parse("3 2 J\r\n1 2 1\r\n2 3 2\r\n").unwrap();
        assert_eq!(g, Problem::MaxCut { n: 3, edges: vec![(0, 1, 1.0), (1, 2, 2.0)] });
        assert_eq!(g.cut(&[1, -1, 1]), Some(3.0));
        let q = parse("# a QUBO\nqubo 2\n0 0 -1\n1 1 -1\n0 1 3  # penalty\noffset 0.5\n").unwrap();
        assert_eq!(q, Problem::Qubo(Qubo { linear: vec![-1.0, -1.0], quadratic: vec![(0, 1, 3.0)], offset: 0.5 }));
    }

    #[test]
    fn bad_files_name_the_line() {
        let e = |t: &str| parse(t).unwrap_err().to_string();
        assert_eq!(e(""), "line 1: the file is empty");
        assert!(e("2 1\n1 3 1\n").starts_with("line 2: vertex 3 is out of range"));
        assert!(e("2 2\n1 2 1\n").contains("declares 2 edges but the file lists 1"));
        assert!(e("2 1\n1 1 1\n").contains("self-loop"));
        assert!(e("qubo 2\n0 5 1\n").starts_with("line 2: index 5 is out of range"));
        assert!(e("qubo 2\n0 1 x\n").contains("`x` is not a number"));
        assert!(e("hello\n").contains("expected a header"));
    }
}
