//! The applier's ITSM actions: fields and languages, satisfaction answers, approval chains,
//! service requests, and what is told back to a requester.

use super::*;

impl Writer<'_, '_> {
    pub(super) fn itsm(&mut self, a: &Action) -> diesel::QueryResult<()> {
        match a {
            Action::TellRequester { title, lines } => {
                let (row, now) = (self.row()?.clone(), self.clock.received_at);
                let id = crate::pipeline::catalog::tell_customer(
                    self.app,
                    self.c,
                    &row,
                    title,
                    lines.clone(),
                    now,
                )?;
                self.outbox_ids.extend(id);
            }
            Action::CatalogNext { unknown } => {
                let (row, now) = (self.row()?.clone(), self.clock.received_at);
                let ids = crate::pipeline::catalog::next(self.app, self.c, &row, unknown, now)?;
                self.outbox_ids.extend(ids);
            }
            Action::StartApproval { chain } => {
                let (row, now) = (self.row()?.clone(), self.clock.received_at);
                let actor = self.actor();
                let ids =
                    crate::pipeline::approvals::start(self.app, self.c, &row, chain, &actor, now)?;
                self.outbox_ids.extend(ids);
            }
            Action::RecordApproval {
                decision,
                approve,
                comment,
            } => {
                let now = self.clock.received_at;
                if let crate::pipeline::approvals::Recorded::Yes { outbox, .. } =
                    crate::pipeline::approvals::record(
                        self.app,
                        self.c,
                        *decision,
                        (*approve, comment),
                        "mail",
                        now,
                    )?
                {
                    self.outbox_ids.extend(outbox);
                }
            }
            Action::ApproverNotice { decision, why } => {
                let now = self.clock.received_at;
                let id = crate::pipeline::approvals::notice(self.app, self.c, *decision, why, now)?;
                self.outbox_ids.extend(id);
            }
            Action::SetField { name, value } => {
                let (t, now) = (self.ticket()?, self.clock.received_at);
                let actor = self.actor();
                models::set_field(self.c, t, name, value.as_deref(), &actor, now)?;
            }
            Action::SetLanguage {
                address,
                language,
                source,
            } => {
                let now = self.clock.received_at;
                models::set_contact_language(self.c, address, language, source, now)?;
            }
            Action::RecordCsat {
                survey,
                score,
                comment,
            } => {
                let now = self.clock.received_at;
                if let crate::schedule::csat::Answered::Recorded(ids) =
                    crate::schedule::csat::record_answer(
                        self.app,
                        self.c,
                        *survey,
                        (*score, comment),
                        "mail",
                        now,
                    )?
                {
                    self.outbox_ids.extend(ids);
                }
            }
            _ => {}
        }
        Ok(())
    }
}
