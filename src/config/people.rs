//! Who is who in the config: agents and managers, by address, name and queue.

use super::*;

impl Config {
    /// The agent with this address.
    pub fn agent(&self, address: &str) -> Option<&AgentConfig> {
        self.agents.iter().find(|a| a.address == address)
    }

    /// The agent `name` means: an address, a display name, or an address's local part.
    pub fn find_agent(&self, name: &str) -> Option<&AgentConfig> {
        let n = name.trim().to_lowercase();
        self.agents.iter().find(|a| {
            a.address == n
                || a.name.to_lowercase() == n
                || a.address.split('@').next() == Some(n.as_str())
        })
    }

    /// The agents to tell about a ticket: its assignee, else the agents of its queue.
    pub fn agents_for(&self, assignee: Option<&str>, queue: &str) -> Vec<&AgentConfig> {
        if let Some(a) = assignee.and_then(|a| self.agent(a)) {
            return vec![a];
        }
        self.queue_agents(queue).collect()
    }

    /// The agents (not managers) who work `queue`: those listing it, and those listing none.
    pub fn queue_agents<'a, 'q>(
        &'a self,
        queue: &'q str,
    ) -> impl Iterator<Item = &'a AgentConfig> + use<'a, 'q> {
        self.agents.iter().filter(move |a| {
            a.role == "agent" && (a.queues.is_empty() || a.queues.iter().any(|q| q == queue))
        })
    }

    /// The managers of `queue`: those listing it, and those listing none.
    pub fn queue_managers<'a, 'q>(
        &'a self,
        queue: &'q str,
    ) -> impl Iterator<Item = &'a AgentConfig> + use<'a, 'q> {
        self.agents.iter().filter(move |a| {
            a.role == "manager" && (a.queues.is_empty() || a.queues.iter().any(|q| q == queue))
        })
    }
}
