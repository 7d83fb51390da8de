//! What a decision asks the applier to do: the vocabulary between the pure [`super::decide`]
//! (and the agent commands of [`super::commands`]) and `pipeline::apply`, which writes each
//! action in the batch's transaction. An action names what happens, never how it is stored.

use super::model::{LinkKind, MessageKind, Priority, Status, TicketType};
use super::rules::Assign;
use super::sla::SlaEvent;

/// One step of a decision, applied in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A delivery report failed one of our mails: its outbox row is marked failed, and its
    /// ticket records it and tells its agents.
    MarkBounced {
        outbox_id: i64,
        ticket: Option<i64>,
        address: String,
        error: String,
    },
    /// A new ticket; the mail's actions after this one are about it.
    OpenTicket(Box<NewTicket>),
    /// The received mail's row, with the decision's outcome, ticket, `matched_by` and reason.
    Record,
    /// The mail as a message of the ticket (its attachments with it).
    AddMessage { kind: MessageKind, text: String },
    /// Message-IDs the mail refers to that were never received: a later mail naming one of
    /// them meets this ticket.
    RememberReferences(Vec<String>),
    /// Someone who takes part in the ticket from now on.
    AddParticipant {
        address: String,
        name: Option<String>,
        role: &'static str,
    },
    /// Someone who no longer receives the ticket's answers.
    RemoveParticipant { address: String },
    /// An entry in a ticket's history.
    Event {
        /// `None`: the mail's ticket; else that ticket.
        on: Option<i64>,
        actor: String,
        kind: &'static str,
        detail: Detail,
    },
    /// A change of the ticket's fields (written together, once, before anything that reads
    /// the ticket as changed).
    Set(Change),
    /// A short automatic mail to the ticket's requester (template `request_update`): lines of
    /// their mail that were not taken, and why.
    TellRequester { title: String, lines: Vec<String> },
    /// A service request's next stage once its fields are stored: ask for the missing ones
    /// (naming the `unknown` ones given), else its approval, else its tasks.
    CatalogNext { unknown: Vec<String> },
    /// The ticket's approval chain starts: its first step's approvers are asked.
    StartApproval { chain: String },
    /// An approver's decision on their decision row (`via` mail).
    RecordApproval {
        decision: i64,
        approve: bool,
        comment: String,
    },
    /// An approver's mail that decides nothing: they are told how to answer (`why`), or where
    /// the chain stands.
    ApproverNotice { decision: i64, why: String },
    /// `#set NAME VALUE`: a field of the ticket (`None`: removed).
    SetField { name: String, value: Option<String> },
    /// Time an agent spent on the ticket, in milliseconds (added in the statement).
    AddTimeSpent(i64),
    /// The SLA clocks learn of what happened.
    SyncSla(SlaSync),
    /// The language `address` is written to in from now on (`source`: rule, header or
    /// detected; only a rule's replaces a stored one).
    SetLanguage {
        address: String,
        language: &'static str,
        source: &'static str,
    },
    /// The acknowledgement of a new ticket to the customer (`template` instead of `ack`; `to`
    /// instead of the mail's sender, for a forwarded mail).
    Acknowledge {
        template: Option<String>,
        to: Option<crate::mail::parse::MailAddr>,
    },
    /// A customer's mail an agent forwarded: the original text as the customer's message
    /// (from them), the agent's own text as an internal note.
    AddForwarded {
        from: crate::mail::parse::MailAddr,
        text: String,
        note: String,
    },
    /// A new ticket or a customer's reply, to the agents who should see it.
    NotifyAgents { text: String, is_new: bool },
    /// An internal note, to the ticket's other agents.
    ShareNote { text: String },
    /// The agent's answer to the customer; `if_sent` applies only once it is queued (a ticket
    /// with no customer to write to records why instead).
    AnswerCustomer {
        text: String,
        /// Knowledge articles (`#reply NAME`) rendered for the customer below the text.
        articles: Vec<String>,
        if_sent: Vec<Action>,
    },
    /// `#search WORDS`: the best tickets and articles, in an `agent_notice` to the agent.
    SearchReply { words: String },
    /// `#kb save NAME`: the article saved (replacing one of that name); without a `# Title`
    /// line the ticket's subject is its title.
    SaveArticle {
        name: String,
        title: Option<String>,
        body: String,
    },
    /// A customer's answer to a satisfaction survey (a low score tells the assignee and the
    /// queue's managers).
    RecordCsat {
        survey: i64,
        score: u8,
        comment: String,
    },
    /// What a mail of commands alone did, confirmed to the agent.
    CommandReceipt { done: Vec<String> },
    /// The customer told that a command alone resolved or closed their ticket.
    StatusChanged,
    /// Links the mail's ticket and `other` both ways: `other` is `kind` to it, it is `back` to
    /// `other`.
    Link {
        other: i64,
        kind: LinkKind,
        back: LinkKind,
    },
    /// Removes the links (problem, incident, related) between the mail's ticket and `other`.
    Unlink { other: i64 },
    /// A ticket opened by a command (a problem for this incident, a child task), linked to the
    /// mail's ticket: it is `kind` to the mail's ticket, which is `back` to it. Its queue's
    /// agents are told.
    OpenLinked {
        plan: Box<NewTicket>,
        kind: LinkKind,
        back: LinkKind,
    },
    /// The mail's ticket merged into `into`: its messages, participants and thread references
    /// move there, and the two are linked `merged_into`/`merged_from`.
    Merge { into: i64 },
    /// A problem's update to the requester of every linked incident (each once, in their own
    /// ticket); `resolve` resolves the open ones first. `hold`: more requesters than
    /// `[problems] confirm_above`, so it is kept and the agent asked to confirm; `confirm`
    /// sends the kept one.
    Broadcast {
        text: Option<String>,
        resolve: bool,
        hold: bool,
        confirm: bool,
    },
    /// An incident just linked to a major problem: its requester gets the problem's current
    /// update at once.
    SendCurrentUpdate { problem: i64, incident: i64 },
    /// A child task was finished: if it was the parent's last open one, the parent's assignee
    /// is told.
    ChildDone { parent: i64 },
    /// The command lines not obeyed and why, to the agent (with what was done).
    CommandError {
        errors: Vec<(String, String)>,
        done: Vec<String>,
    },
}

/// A ticket field changed.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Status(Status),
    Priority(Priority),
    Queue(String),
    Assignee(Option<String>),
    /// An assignee picked from the ticket's queue as it is then (round robin, least open):
    /// the pick depends on the workload, which the applier reads.
    AssignBy(Assign),
    /// The whole tag list, as it is to be stored.
    Tags(Vec<String>),
    Type(TicketType),
    /// `None`: no policy applies any more (the clocks stop).
    SlaPolicy(Option<String>),
    FirstResponseAt(i64),
    ResolvedAt(i64),
    UpdatedAt(i64),
}

/// How the clocks are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaSync {
    Event(SlaEvent),
    /// After an agent's answer: `Answered` once it is queued; else `Changed` when a field the
    /// clocks depend on changed, and nothing otherwise.
    AfterAnswer {
        changed: bool,
    },
}

/// An event's text, some of it known only once written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail {
    Text(String),
    /// `inbound #N`: the received mail's row.
    Inbound,
    /// The opening of a ticket: the mail, its mailbox and the closed ticket it follows up.
    Created {
        mailbox: String,
        follows: Option<i64>,
    },
    /// On a closed ticket: `followed up by ticket #N`, the one just opened.
    FollowedUpBy,
}

/// A ticket to open, as the rules and the mail made it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTicket {
    pub subject: String,
    pub subject_key: String,
    pub queue: String,
    pub priority: Priority,
    pub assign: Option<Assign>,
    pub tags: Vec<String>,
    pub sla_policy: Option<String>,
    pub ticket_type: Option<TicketType>,
    /// The closed ticket this one follows up.
    pub linked_to: Option<i64>,
    /// The mail's Outlook conversation, if it has one (else a fresh one is made).
    pub thread_index: Option<String>,
    /// The requester first, then the others in copy: (address, name, role).
    pub people: Vec<(String, Option<String>, &'static str)>,
    /// The rules that matched, recorded on the ticket.
    pub rules: Vec<String>,
    /// The `[[identities]]` entry it is answered as (`None`: the default identity).
    pub identity: Option<String>,
}
