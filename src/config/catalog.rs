//! `[[catalog]]`: service requests a mail opens (by its subject or the address it was sent to),
//! with the fields they need, their approval chain and their fulfilment tasks.

use super::*;

/// One item of the catalog.
#[derive(Debug, Clone)]
pub struct CatalogItem {
    pub name: String,
    pub title: String,
    /// `match.subject`: a regex over the subject.
    pub subject: Option<regex::Regex>,
    /// `match.address`: the address the mail was sent to (lower case).
    pub address: Option<String>,
    /// (name, required), names as `#set` and `Name: value` lines write them.
    pub fields: Vec<(String, bool)>,
    pub approval: Option<String>,
    /// (queue, subject) of each task opened once the request is approved.
    pub tasks: Vec<(String, String)>,
}

impl Reader {
    pub(super) fn catalog(
        &mut self,
        top: &mut Section<'_>,
        queues: &[QueueConfig],
        chains: &[ApprovalChain],
    ) -> Vec<CatalogItem> {
        let mut out: Vec<CatalogItem> = Vec::new();
        for (i, t) in self.array_of_tables(top, "catalog").into_iter().enumerate() {
            let mut s = Section::new(t, format!("catalog[{i}]"));
            let name = self.required_string(&mut s, "name", "a name for the catalog item");
            let title = self.string(&mut s, "title", "a title").unwrap_or_default();
            let (mut subject, mut address) = (None, None);
            match self.get(&mut s, "match") {
                Some(Value::Table(m)) => {
                    for (k, v) in m {
                        let key = format!("{}.{k}", s.key("match"));
                        match (k.as_str(), v) {
                            ("subject", Value::String(r)) => match regex::Regex::new(r) {
                                Ok(re) => subject = Some(re),
                                Err(e) => self.problem(key, format!("expected a regex: {e}")),
                            },
                            ("address", Value::String(a)) if a.contains('@') => {
                                address = Some(a.to_lowercase())
                            }
                            _ => self.problem(key, "expected subject = \"REGEX\" or address = \"ADDRESS\""),
                        }
                    }
                }
                _ => self.problem(s.key("match"), "expected { subject = \"(?i)new laptop\" } or { address = \"laptop@example.test\" }"),
            }
            let mut fields = Vec::new();
            for (j, f) in self
                .array_of_tables(&mut s, "fields")
                .into_iter()
                .enumerate()
            {
                let mut fs = Section::new(f, format!("catalog[{i}].fields[{j}]"));
                let n = self.required_string(&mut fs, "name", "a field name");
                let required = self.bool(&mut fs, "required", false);
                self.unknown_keys(&fs);
                if let Some(n) = n {
                    match crate::ticket::fields::parse(&[n.as_str(), "x"]) {
                        Ok((n, _)) => fields.push((n, required)),
                        Err(e) => self.problem(fs.key("name"), e),
                    }
                }
            }
            let approval = self.string(&mut s, "approval", "the name of an [[approvals]] chain");
            if let Some(a) = approval
                .as_deref()
                .filter(|a| !chains.iter().any(|c| c.name == *a))
            {
                self.problem(
                    s.key("approval"),
                    format!("names the chain '{a}', which no [[approvals]] entry defines"),
                );
            }
            let mut tasks = Vec::new();
            for (j, tt) in self
                .array_of_tables(&mut s, "tasks")
                .into_iter()
                .enumerate()
            {
                let mut ts = Section::new(tt, format!("catalog[{i}].tasks[{j}]"));
                let q = self.required_string(&mut ts, "queue", "a queue name");
                let subj = self.required_string(&mut ts, "subject", "the task's subject");
                self.unknown_keys(&ts);
                if let Some(q) = q
                    .as_deref()
                    .filter(|q| !queues.iter().any(|x| x.name == *q))
                {
                    self.problem(
                        ts.key("queue"),
                        format!("names the queue '{q}', which no [[queues]] entry defines"),
                    );
                }
                if let (Some(q), Some(subj)) = (q, subj) {
                    tasks.push((q, subj));
                }
            }
            self.unknown_keys(&s);
            if let Some(name) = name {
                out.push(CatalogItem {
                    title: if title.is_empty() {
                        name.clone()
                    } else {
                        title
                    },
                    name,
                    subject,
                    address,
                    fields,
                    approval: approval.filter(|a| !a.is_empty()),
                    tasks,
                });
            }
        }
        out
    }
}
