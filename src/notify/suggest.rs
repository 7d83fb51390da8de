//! The articles offered in a new ticket's acknowledgement (`[knowledge] suggest`): chosen by
//! [`crate::knowledge::suggest`] among the files and the saved articles, rendered for the
//! customer, each with a one-click "this solved it" link when `[web]` is on.

use super::*;
use crate::knowledge::suggest::Index;

/// How long a "this solved it" link works.
pub const SOLVED_LINK_LIFE_S: i64 = 14 * 24 * 3600;

impl Notifier<'_> {
    /// The articles to offer for `ticket`'s first mail `text`, rendered for `customer`, and
    /// the event that records which were offered (`None`: none).
    pub fn suggestions(
        &self,
        c: &mut AnyConnection,
        ticket: &Ticket,
        text: &str,
        customer: &ctx::Person,
        now: i64,
    ) -> diesel::QueryResult<Vec<ctx::Suggested>> {
        let s = self.cfg.suggest;
        if s.count == 0 {
            return Ok(Vec::new());
        }
        let lang = models::contact_language(c, &customer.address)?;
        let mut articles = self
            .templates
            .knowledge()
            .map(|l| l.in_language(lang.as_deref()))
            .unwrap_or_default();
        for a in models::articles(c)? {
            articles.insert(a.name.clone(), a.into_article());
        }
        let index = Index::new(articles.values());
        let picked = index.suggest(&ticket.subject, text, s.count as usize, s.threshold);
        if picked.is_empty() {
            return Ok(Vec::new());
        }
        let id = self.identity_of(ticket);
        let context = ctx::Article {
            customer: customer.clone(),
            ticket: self.ticket_ctx(ticket),
            agent: ctx::Agent {
                name: id.name.clone(),
                address: id.address.clone(),
                timezone: "UTC".into(),
            },
            identity: self.identity_ctx(ticket),
        };
        let token = self.cfg.web.as_ref().map(|w| {
            (
                w.public_url.clone(),
                self.keys
                    .click_token("solved", ticket.id, now / 1000 + SOLVED_LINK_LIFE_S),
            )
        });
        let mut out = Vec::new();
        for p in &picked {
            let a = &articles[&p.name];
            let text = crate::knowledge::render(a, &context).unwrap_or_else(|_| a.body.clone());
            out.push(ctx::Suggested {
                name: a.name.clone(),
                title: a.title.clone(),
                text,
                solved_url: token
                    .as_ref()
                    .map(|(base, t)| format!("{base}/solved/{t}?article={}", a.name)),
            });
        }
        let detail = picked
            .iter()
            .map(|p| format!("{} ({:.2})", p.name, p.score))
            .collect::<Vec<_>>()
            .join(", ");
        models::insert_event(c, ticket.id, now, "system", "suggested", &detail)?;
        Ok(out)
    }
}
