//! A small JSON writer: enough for the report and the trace, with correct string escaping.
//!
//! Hand-written rather than a dependency: the output is a handful of objects, arrays,
//! strings and integers (no floats anywhere, so no formatting ambiguity).

use std::fmt::Write;

pub struct Json {
    out: String,
    /// Per open container: has it had an element yet?
    first: Vec<bool>,
}

impl Default for Json {
    fn default() -> Self {
        Self::new()
    }
}

impl Json {
    pub fn new() -> Json {
        Json {
            out: String::new(),
            first: Vec::new(),
        }
    }

    pub fn finish(self) -> String {
        debug_assert!(self.first.is_empty(), "every container is closed");
        self.out
    }

    fn sep(&mut self) {
        if let Some(first) = self.first.last_mut() {
            if !*first {
                self.out.push(',');
            }
            *first = false;
        }
    }

    pub fn key(&mut self, k: &str) -> &mut Self {
        self.sep();
        escape(&mut self.out, k);
        self.out.push(':');
        // The value that follows must not add another separator.
        if let Some(first) = self.first.last_mut() {
            *first = true;
        }
        self
    }

    pub fn open_object(&mut self) -> &mut Self {
        self.sep();
        self.out.push('{');
        self.first.push(true);
        self
    }

    pub fn close_object(&mut self) -> &mut Self {
        self.first.pop();
        self.out.push('}');
        self.mark();
        self
    }

    pub fn open_array(&mut self) -> &mut Self {
        self.sep();
        self.out.push('[');
        self.first.push(true);
        self
    }

    pub fn close_array(&mut self) -> &mut Self {
        self.first.pop();
        self.out.push(']');
        self.mark();
        self
    }

    /// After a value, the enclosing container has an element.
    fn mark(&mut self) {
        if let Some(first) = self.first.last_mut() {
            *first = false;
        }
    }

    pub fn str(&mut self, s: &str) -> &mut Self {
        self.sep();
        escape(&mut self.out, s);
        self.mark();
        self
    }

    pub fn num(&mut self, n: u64) -> &mut Self {
        self.sep();
        let _ = write!(self.out, "{n}");
        self.mark();
        self
    }

    pub fn raw_i64(&mut self, n: i64) -> &mut Self {
        self.sep();
        let _ = write!(self.out, "{n}");
        self.mark();
        self
    }

    pub fn bool(&mut self, b: bool) -> &mut Self {
        self.sep();
        self.out.push_str(if b { "true" } else { "false" });
        self.mark();
        self
    }

    pub fn null(&mut self) -> &mut Self {
        self.sep();
        self.out.push_str("null");
        self.mark();
        self
    }

    pub fn opt_num(&mut self, n: Option<u64>) -> &mut Self {
        match n {
            Some(n) => self.num(n),
            None => self.null(),
        }
    }

    pub fn field_str(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k).str(v)
    }

    pub fn field_num(&mut self, k: &str, v: u64) -> &mut Self {
        self.key(k).num(v)
    }
}

fn escape(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_values_are_separated_and_escaped() {
        let mut j = Json::new();
        j.open_object();
        j.field_str("a", "x\"y\n");
        j.key("b")
            .open_array()
            .num(1)
            .num(2)
            .open_object()
            .close_object()
            .close_array();
        j.key("c").null();
        j.close_object();
        assert_eq!(j.finish(), r#"{"a":"x\"y\n","b":[1,2,{}],"c":null}"#);
    }
}
