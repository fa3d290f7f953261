//! What this machine tells about itself: free ports and who holds them, live processes and their
//! working directories (from `/proc`), interface addresses, whether we are root, the tail of a
//! log file, random tokens from its randomness. Read-only introspection that the runtimes, the
//! handler server, setup and the data layer share.

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::path::Path;

/// Whether `pid` is a live (not zombie) process whose command line mentions `expect`.
pub fn is_alive(pid: u32, expect: &str) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state field follows the parenthesised command name.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    if matches!(state, Some("Z") | Some("X") | None) {
        return false;
    }
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).contains(expect))
        .unwrap_or(false)
}

/// Live processes whose working directory is `dir` (e.g. PostgreSQL backends left behind by a
/// crashed postmaster: they run in the data directory).
pub(crate) fn processes_in(dir: &Path) -> Vec<u32> {
    let Ok(want) = std::fs::canonicalize(dir) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()))
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == want))
        .filter(|pid| is_alive(*pid, ""))
        .collect()
}

/// Whether a TCP port on 127.0.0.1 can be bound right now.
pub fn port_is_free(port: u16) -> bool {
    TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// Who listens on `port` (any address), as "pid N (command)", if it can be found in `/proc`.
pub(crate) fn port_owner(port: u16) -> Option<String> {
    let inode = listening_inode(port)?;
    let needle = format!("socket:[{inode}]");
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy() == needle) {
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                return Some(format!("pid {pid} ({})", comm.trim()));
            }
        }
    }
    None
}

fn listening_inode(port: u16) -> Option<String> {
    const LISTEN: &str = "0A";
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 10 || cols[3] != LISTEN {
                continue;
            }
            let local_port = cols[1]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port) {
                return Some(cols[9].to_string());
            }
        }
    }
    None
}

/// The first IPv4 address of a network interface of this machine (e.g. `docker0`).
pub(crate) fn interface_ipv4(name: &str) -> Option<std::net::Ipv4Addr> {
    nix::ifaddrs::getifaddrs()
        .ok()?
        .filter(|a| a.interface_name == name)
        .find_map(|a| a.address?.as_sockaddr_in().map(|s| s.ip()))
}

/// A random string of `len` characters from `[A-Za-z0-9]` (the thread RNG, seeded by the OS).
pub(crate) fn random_token(len: usize) -> String {
    use rand::RngExt;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Whether we run as root (then servers that refuse root run as an unprivileged user).
pub(crate) fn running_as_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Reads the last `lines` lines of a log file (whole file if shorter).
pub(crate) fn tail(path: &Path, lines: usize) -> std::io::Result<String> {
    let text = std::fs::read(path)?;
    let text = String::from_utf8_lossy(&text);
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    Ok(all[start..].join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_owner_finds_our_own_listener() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(!port_is_free(port));
        let owner = port_owner(port).expect("owner of our own socket");
        assert!(owner.contains(&std::process::id().to_string()), "{owner}");
        drop(l);
        assert!(port_is_free(port));
    }

    #[test]
    fn the_loopback_interface_has_the_loopback_address() {
        assert_eq!(interface_ipv4("lo"), Some(Ipv4Addr::LOCALHOST));
        assert_eq!(interface_ipv4("no-such-interface0"), None);
    }
}
