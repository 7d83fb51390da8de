//! Who holds a mailbox lease or a held outbox row, and whether that holder is provably dead.
//!
//! A holder is written as `machine:boot:pidns:pid:start`: the machine id, the boot id, the PID
//! namespace, the process id and the process's start time (clock ticks since boot, so a reused
//! process id is not mistaken for the holder). A holder on this machine, in this boot and in
//! this PID namespace is alive exactly when its process is; a holder from an earlier boot of
//! this machine is dead; a holder anywhere else (another host, another container) cannot be
//! judged here, and its lease or hold runs out by time as before.

use std::sync::OnceLock;

/// One process that can hold things.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub machine: String,
    pub boot: String,
    pub pidns: String,
    pub pid: u32,
    pub start: u64,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}:{}",
            self.machine, self.boot, self.pidns, self.pid, self.start
        )
    }
}

impl Holder {
    /// Reads a holder written by [`Holder::to_string`].
    pub fn parse(s: &str) -> Option<Holder> {
        let mut it = s.rsplitn(3, ':');
        let start = it.next()?.parse().ok()?;
        let pid = it.next()?.parse().ok()?;
        let mut head = it.next()?.splitn(3, ':');
        Some(Holder {
            machine: head.next()?.to_string(),
            boot: head.next()?.to_string(),
            pidns: head.next()?.to_string(),
            pid,
            start,
        })
    }
}

/// What can be said about a holder from here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liveness {
    Alive,
    /// Provably dead, and why (for the log line of the takeover).
    Dead(String),
    /// On another host, in another container, or unreadable: wait for its time to run out.
    Unknown,
}

/// Judges `other` from `me`; `start_of(pid)` is the start time of a running process, `None`
/// when there is no such process (pure: the caller reads `/proc`).
pub fn judge(me: &Holder, other: &Holder, start_of: impl Fn(u32) -> Option<u64>) -> Liveness {
    if me.machine.is_empty() || other.machine != me.machine {
        return Liveness::Unknown;
    }
    if other.boot != me.boot {
        return Liveness::Dead("the host has restarted since".into());
    }
    if other.pidns != me.pidns || me.start == 0 {
        return Liveness::Unknown;
    }
    match start_of(other.pid) {
        None => Liveness::Dead(format!("process {} is gone", other.pid)),
        Some(s) if s != other.start => Liveness::Dead(format!(
            "process {} is gone (its number belongs to another process now)",
            other.pid
        )),
        Some(_) => Liveness::Alive,
    }
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The start time of process `pid` (field 22 of `/proc/PID/stat`); `None` when there is no
/// such process. A process whose entry cannot be read for another reason counts as running.
fn start_of(pid: u32) -> Option<u64> {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // The command name (field 2) is in parentheses and may hold spaces.
            let rest = stat.rsplit_once(')')?.1;
            rest.split_ascii_whitespace().nth(19)?.parse().ok()
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(_) => Some(u64::MAX),
    }
}

/// This process as a holder. The machine id is `$POSTDESK_HOST_ID` when set (containers that
/// share one machine id; tests that play another host), else `/etc/machine-id`, else the host
/// name.
pub fn me() -> &'static Holder {
    static ME: OnceLock<Holder> = OnceLock::new();
    ME.get_or_init(|| Holder {
        machine: std::env::var("POSTDESK_HOST_ID")
            .ok()
            .filter(|s| !s.is_empty())
            .or_else(|| read_trimmed("/etc/machine-id"))
            .or_else(|| read_trimmed("/var/lib/dbus/machine-id"))
            .or_else(|| read_trimmed("/proc/sys/kernel/hostname"))
            .unwrap_or_default()
            .replace(':', "_"),
        boot: read_trimmed("/proc/sys/kernel/random/boot_id")
            .unwrap_or_default()
            .replace(':', "_"),
        pidns: std::fs::read_link("/proc/self/ns/pid")
            .map(|p| p.display().to_string().replace(':', "_"))
            .unwrap_or_default(),
        pid: std::process::id(),
        start: start_of(std::process::id())
            .filter(|s| *s != u64::MAX)
            .unwrap_or(0),
    })
}

/// This process as written in the database.
pub fn me_written() -> &'static str {
    static ME: OnceLock<String> = OnceLock::new();
    ME.get_or_init(|| me().to_string())
}

/// Whether the holder written as `written` is alive, judged from this process.
pub fn liveness(written: &str) -> Liveness {
    match Holder::parse(written) {
        Some(other) => judge(me(), &other, start_of),
        None => Liveness::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(machine: &str, boot: &str, pidns: &str, pid: u32, start: u64) -> Holder {
        Holder {
            machine: machine.into(),
            boot: boot.into(),
            pidns: pidns.into(),
            pid,
            start,
        }
    }

    #[test]
    fn a_holder_is_judged_only_where_it_can_be() {
        let me = h("m1", "b1", "pid_[1]", 10, 500);
        let running = |pid: u32| (pid == 42).then_some(900);
        let cases = [
            (h("m1", "b1", "pid_[1]", 42, 900), Liveness::Alive),
            (
                h("m1", "b1", "pid_[1]", 43, 900),
                Liveness::Dead("process 43 is gone".into()),
            ),
            (
                h("m1", "b1", "pid_[1]", 42, 800),
                Liveness::Dead(
                    "process 42 is gone (its number belongs to another process now)".into(),
                ),
            ),
            (
                h("m1", "b0", "pid_[1]", 42, 900),
                Liveness::Dead("the host has restarted since".into()),
            ),
            (h("m2", "b1", "pid_[1]", 43, 900), Liveness::Unknown),
            (h("m1", "b1", "pid_[2]", 43, 900), Liveness::Unknown),
        ];
        for (other, want) in cases {
            assert_eq!(judge(&me, &other, running), want, "{other}");
        }
        // Without a machine id or its own start time, this process judges nobody.
        assert_eq!(
            judge(&h("", "b1", "p", 1, 5), &h("", "b1", "p", 43, 1), running),
            Liveness::Unknown
        );
        assert_eq!(
            judge(
                &h("m1", "b1", "p", 1, 0),
                &h("m1", "b1", "p", 43, 1),
                running
            ),
            Liveness::Unknown
        );
    }

    #[test]
    fn a_holder_reads_back_as_written() {
        let x = h("abc", "d-e", "pid_[4026531836]", 77, 123456);
        assert_eq!(Holder::parse(&x.to_string()), Some(x));
        assert_eq!(Holder::parse("host:1234:beef"), None); // an instance name, not a holder
    }

    #[test]
    fn this_process_is_alive_and_a_finished_child_is_dead() {
        let me = me();
        assert_eq!(me.pid, std::process::id());
        assert!(me.start > 0, "{me}");
        assert_eq!(liveness(me_written()), Liveness::Alive);
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let gone = Holder { pid, ..me.clone() };
        assert!(
            matches!(liveness(&gone.to_string()), Liveness::Dead(_)),
            "{gone}"
        );
    }
}
