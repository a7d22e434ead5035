//! Where each field of a YAML document is: a map from field paths (`faults[2].crash`, the
//! same spelling serde_path_to_error uses) to line and column. serde_yaml does not expose
//! positions, so errors found after parsing look their field up here.

use std::collections::BTreeMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A position in the file, both 1-based.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Position {
    /// Line number.
    pub line: usize,
    /// Column number.
    pub column: usize,
}

/// Field paths and their positions.
#[derive(Debug, Default)]
pub struct Locations {
    positions: BTreeMap<String, Position>,
}

impl Locations {
    /// Indexes `text`; a syntax error comes back with its position.
    pub fn index(text: &str) -> Result<Locations, (Position, String)> {
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(text);
        parser.load(&mut builder, true).map_err(|e| {
            let m = e.marker();
            (Position { line: m.line(), column: m.col() + 1 }, e.info().to_string())
        })?;
        if builder.documents > 1 {
            let pos = builder.second_document.unwrap_or(Position { line: 1, column: 1 });
            return Err((pos, "a scenario file holds one YAML document, this one has several".into()));
        }
        Ok(Locations { positions: builder.positions })
    }

    /// The position of the field at `path`, or of its nearest enclosing field.
    pub fn find(&self, path: &str) -> Option<Position> {
        let mut p = path;
        loop {
            if let Some(pos) = self.positions.get(p) {
                return Some(*pos);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }
}

#[derive(Debug)]
enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, index: usize },
}

#[derive(Debug, Default)]
struct Builder {
    stack: Vec<Frame>,
    positions: BTreeMap<String, Position>,
    documents: usize,
    second_document: Option<Position>,
}

impl Builder {
    /// Handles the start of a node; returns its path, or `None` if the node is a map key.
    fn begin(&mut self, event: &Event, pos: Position) -> Option<String> {
        let path = match self.stack.last_mut() {
            None => String::new(),
            Some(Frame::Map { key: key @ None, .. }) => {
                // A key: remember it; its value is the next node.
                *key = Some(match event {
                    Event::Scalar(s, ..) => s.clone(),
                    _ => "?".into(),
                });
                return None;
            }
            Some(Frame::Map { path, key: Some(k) }) => {
                if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                }
            }
            Some(Frame::Seq { path, index }) => format!("{path}[{index}]"),
        };
        self.positions.entry(path.clone()).or_insert(pos);
        Some(path)
    }

    /// A value node ended: the enclosing map waits for its next key, the sequence moves on.
    fn end(&mut self) {
        match self.stack.last_mut() {
            Some(Frame::Map { key, .. }) => *key = None,
            Some(Frame::Seq { index, .. }) => *index += 1,
            None => {}
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = Position { line: mark.line(), column: mark.col() + 1 };
        match ev {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents == 2 {
                    self.second_document = Some(pos);
                }
            }
            Event::Scalar(..) | Event::Alias(_) => {
                // A key only names the value that follows; a scalar value ends here.
                let was_value = self.begin(&ev, pos).is_some();
                if was_value {
                    self.end();
                }
            }
            Event::MappingStart(..) => {
                // A map used as a key is not something scenarios do; treat it as a value.
                let path = self.begin(&ev, pos).unwrap_or_default();
                self.stack.push(Frame::Map { path, key: None });
            }
            Event::SequenceStart(..) => {
                let path = self.begin(&ev, pos).unwrap_or_default();
                self.stack.push(Frame::Seq { path, index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
                self.end();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_fields_and_list_items() {
        let text = "name: x\nfaults:\n  - { at: 1s, crash: n1 }\n  - at: 2s\n    partition: [[n0], [n1, n2]]\n";
        let loc = Locations::index(text).unwrap();
        assert_eq!(loc.find("name"), Some(Position { line: 1, column: 7 }));
        assert_eq!(loc.find("faults[0].crash"), Some(Position { line: 3, column: 22 }));
        assert_eq!(loc.find("faults[1].partition[1][0]"), Some(Position { line: 5, column: 24 }));
        assert_eq!(loc.find("faults[1].partition[1][0].nothing"), loc.find("faults[1].partition[1][0]"));
    }

    #[test]
    fn syntax_errors_carry_their_position() {
        let (pos, msg) = Locations::index("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(pos.line >= 1 && !msg.is_empty());
        let (pos, msg) = Locations::index("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(pos.line, 2);
        assert!(msg.contains("one YAML document"));
    }
}
