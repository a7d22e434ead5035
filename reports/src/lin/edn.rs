//! A reader for the EDN that Jepsen's tools write histories in (Knossos, Porcupine): maps of
//! keyword keys to nil, booleans, integers, strings, keywords, symbols and vectors or lists,
//! with `;` comments and commas as whitespace. A history is either maps one after another
//! (Porcupine) or one vector or list of maps (Knossos).

use super::formats::ParseError;

/// One EDN value.
#[derive(Clone, Debug, PartialEq)]
pub enum Edn {
    /// `nil`.
    Nil,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string.
    Str(String),
    /// A keyword, without its colon.
    Keyword(String),
    /// A symbol or any other bare token (e.g. a float), as written.
    Symbol(String),
    /// A vector, list or set, in order.
    Seq(Vec<Edn>),
    /// A map, in the order written.
    Map(Vec<(Edn, Edn)>),
}

impl Edn {
    /// The value under keyword `key`, in a map.
    pub fn get(&self, key: &str) -> Option<&Edn> {
        match self {
            Edn::Map(entries) => {
                entries.iter().find(|(k, _)| matches!(k, Edn::Keyword(name) if name == key)).map(|(_, v)| v)
            }
            _ => None,
        }
    }
}

/// Reads the maps of a history, each with the line it starts on (1-based).
pub fn history(text: &str) -> Result<Vec<(usize, Edn)>, ParseError> {
    let mut r = Reader { chars: text.chars().collect(), at: 0, line: 1 };
    let mut top = Vec::new();
    while let Some(line) = r.skip() {
        // One vector or list holding the maps (Knossos), or maps one after another (Porcupine).
        let c = r.chars[r.at];
        if top.is_empty() && matches!(c, '[' | '(') {
            r.bump();
            let (items, lines) = r.items(if c == '[' { ']' } else { ')' }, line)?;
            top.extend(lines.into_iter().zip(items));
            if let Some(line) = r.skip() {
                return Err(ParseError { line, message: "more after the history's closing bracket".into() });
            }
            break;
        }
        top.push((line, r.value()?));
    }
    top.into_iter()
        .map(|(line, item)| match item {
            Edn::Map(_) => Ok((line, item)),
            other => Err(ParseError { line, message: format!("expected an operation map, found {other:?}") }),
        })
        .collect()
}

struct Reader {
    chars: Vec<char>,
    at: usize,
    line: usize,
}

impl Reader {
    fn err<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError { line: self.line, message: message.into() })
    }

    fn bump(&mut self) -> Option<char> {
        let c = *self.chars.get(self.at)?;
        self.at += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    /// Skips whitespace, commas and comments; the line of what follows, if anything does.
    fn skip(&mut self) -> Option<usize> {
        while let Some(&c) = self.chars.get(self.at) {
            match c {
                ';' => {
                    while self.chars.get(self.at).is_some_and(|&c| c != '\n') {
                        self.at += 1;
                    }
                }
                c if c.is_whitespace() || c == ',' || c == '\u{feff}' => {
                    self.bump();
                }
                _ => return Some(self.line),
            }
        }
        None
    }

    fn value(&mut self) -> Result<Edn, ParseError> {
        let Some(line) = self.skip() else { return self.err("the history ends inside a value") };
        let c = self.chars[self.at];
        match c {
            '[' | '(' => {
                self.bump();
                let close = if c == '[' { ']' } else { ')' };
                Ok(Edn::Seq(self.items(close, line)?.0))
            }
            '{' => {
                self.bump();
                let (items, _) = self.items('}', line)?;
                if items.len() % 2 == 1 {
                    return Err(ParseError { line, message: "a map with a key and no value".into() });
                }
                let mut it = items.into_iter();
                let mut entries = Vec::new();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    entries.push((k, v));
                }
                Ok(Edn::Map(entries))
            }
            '#' => {
                self.bump();
                match self.chars.get(self.at) {
                    // A set: its items, in order.
                    Some('{') => {
                        self.bump();
                        Ok(Edn::Seq(self.items('}', line)?.0))
                    }
                    // A tagged value (`#inst "..."`): the tag is dropped.
                    _ => {
                        self.token();
                        self.value()
                    }
                }
            }
            '"' => self.string(),
            ']' | ')' | '}' => self.err(format!("an unexpected `{c}`")),
            _ => {
                let t = self.token();
                Ok(match t.as_str() {
                    "nil" => Edn::Nil,
                    "true" => Edn::Bool(true),
                    "false" => Edn::Bool(false),
                    _ if t.starts_with(':') => Edn::Keyword(t[1..].to_string()),
                    _ if t.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+') => match t.parse() {
                        Ok(n) => Edn::Int(n),
                        Err(_) if t.len() > 1 && t.bytes().skip(1).all(|b| b.is_ascii_digit()) => {
                            return self.err(format!("`{t}` does not fit a 64-bit integer"));
                        }
                        Err(_) => Edn::Symbol(t),
                    },
                    _ => Edn::Symbol(t),
                })
            }
        }
    }

    /// Values up to `close`, with the line each starts on.
    fn items(&mut self, close: char, opened: usize) -> Result<(Vec<Edn>, Vec<usize>), ParseError> {
        let (mut items, mut lines) = (Vec::new(), Vec::new());
        loop {
            let Some(line) = self.skip() else {
                return Err(ParseError {
                    line: opened,
                    message: format!("this opens a form never closed by `{close}`"),
                });
            };
            if self.chars[self.at] == close {
                self.bump();
                return Ok((items, lines));
            }
            lines.push(line);
            items.push(self.value()?);
        }
    }

    fn token(&mut self) -> String {
        let start = self.at;
        while self
            .chars
            .get(self.at)
            .is_some_and(|&c| !(c.is_whitespace() || matches!(c, ',' | ';' | '[' | ']' | '(' | ')' | '{' | '}' | '"')))
        {
            self.at += 1;
        }
        self.chars[start..self.at].iter().collect()
    }

    fn string(&mut self) -> Result<Edn, ParseError> {
        let line = self.line;
        self.bump();
        let mut s = String::new();
        loop {
            match self.bump() {
                None => return Err(ParseError { line, message: "a string never closed".into() }),
                Some('"') => return Ok(Edn::Str(s)),
                Some('\\') => match self.bump() {
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some(c) => s.push(c),
                    None => return Err(ParseError { line, message: "a string never closed".into() }),
                },
                Some(c) => s.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knossos_and_porcupine_layouts_read_alike() {
        let knossos = "; a comment\n[{:type :invoke, :process 1, :f :cas, :value [1 2]}\n {:type :ok,\n  :process 1 :f :cas :value [1 2]}\n ; between\n {:process :nemesis, :type :info, :f :start, :value \"x #[y]\"}]\n";
        let maps = history(knossos).unwrap();
        assert_eq!(maps.iter().map(|(l, _)| *l).collect::<Vec<_>>(), vec![2, 3, 6]);
        assert_eq!(maps[0].1.get("value"), Some(&Edn::Seq(vec![Edn::Int(1), Edn::Int(2)])));
        assert_eq!(maps[2].1.get("process"), Some(&Edn::Keyword("nemesis".into())));
        let porcupine = "\u{feff}{:process 0, :type :invoke, :f :get, :key \"1\", :value nil}\n{:process 0, :type :ok, :f :get, :key \"1\", :value \"a\\\"b\"}\n";
        let maps = history(porcupine).unwrap();
        assert_eq!(maps.len(), 2);
        assert_eq!(maps[1].1.get("value"), Some(&Edn::Str("a\"b".into())));
        let list = "({:process 0, :type :invoke, :f :read}\n)";
        assert_eq!(history(list).unwrap().len(), 1);
    }

    #[test]
    fn malformed_edn_names_its_line() {
        assert_eq!(history("{:a 1}\n{:b").unwrap_err().line, 2);
        assert_eq!(history("{:a 1 :b}").unwrap_err().message, "a map with a key and no value");
        assert_eq!(
            history("{:a 99999999999999999999}").unwrap_err().message,
            "`99999999999999999999` does not fit a 64-bit integer"
        );
        assert!(history("[1 2]").unwrap_err().message.contains("operation map"));
        assert_eq!(history("{:f -}").unwrap()[0].1.get("f"), Some(&Edn::Symbol("-".into())));
        assert_eq!(history("[{:a 1}] {:b 2}").unwrap_err().message, "more after the history's closing bracket");
    }
}
