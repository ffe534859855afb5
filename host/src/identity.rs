//! `--user USER[:GROUP]`, as docker's `-u`: who the workload starts as,
//! resolved against the root's /etc/passwd and /etc/group the way runc
//! does (`GetExecUser`): a name or a number for each part; a number not
//! in the files is taken as it is; a user named without a group gets its
//! passwd entry's gid and the groups of /etc/group that list it; and, as
//! docker (moby's `getUser`), the primary gid is a supplementary group too.

use std::path::Path;

use lamina_proto::identity::{Identity, MAX_GROUPS};

/// What `--user` asked for, parsed but not resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSpec {
    pub user: String,
    pub group: Option<String>,
}

/// clap's parser for `--user`.
pub fn parse_user(text: &str) -> Result<UserSpec, String> {
    let (user, group) = match text.split_once(':') {
        Some((user, group)) => (user, Some(group)),
        None => (text, None),
    };
    if user.is_empty() || group.is_some_and(str::is_empty) {
        return Err("expected USER[:GROUP], a name or a number for each".into());
    }
    Ok(UserSpec {
        user: user.into(),
        group: group.map(Into::into),
    })
}

/// The workload's ids and its home directory (`HOME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    pub identity: Identity,
    pub home: String,
}

/// One /etc/passwd line: name, uid, gid, home.
struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

fn passwd_entries(text: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    text.lines().filter_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() < 7 || line.starts_with('#') {
            return None;
        }
        Some(PasswdEntry {
            name: fields[0],
            uid: fields[2].parse().ok()?,
            gid: fields[3].parse().ok()?,
            home: fields[5],
        })
    })
}

/// One /etc/group line: name, gid, members.
struct GroupEntry<'a> {
    name: &'a str,
    gid: u32,
    members: Vec<&'a str>,
}

fn group_entries(text: &str) -> impl Iterator<Item = GroupEntry<'_>> {
    text.lines().filter_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() < 4 || line.starts_with('#') {
            return None;
        }
        Some(GroupEntry {
            name: fields[0],
            gid: fields[2].parse().ok()?,
            members: fields[3].split(',').filter(|m| !m.is_empty()).collect(),
        })
    })
}

/// Resolves `spec` against the texts of /etc/passwd and /etc/group (None:
/// no root, or the file is missing: only numbers resolve). `root` names
/// where the files were looked for, for the error line.
pub fn resolve(
    spec: &UserSpec,
    passwd: Option<&str>,
    group: Option<&str>,
    root: &str,
) -> Result<ResolvedUser, String> {
    let entry = passwd.and_then(|text| {
        passwd_entries(text).find(|e| e.name == spec.user || spec.user.parse() == Ok(e.uid))
    });
    let (uid, mut gid, home, name) = match (&entry, spec.user.parse::<u32>()) {
        (Some(e), _) => (e.uid, e.gid, e.home.to_string(), Some(e.name)),
        (None, Ok(uid)) => (uid, 0, "/".to_string(), None),
        (None, Err(_)) => {
            return Err(match passwd {
                Some(_) => format!(
                    "--user {}: no such user in {root}/etc/passwd",
                    spec.user
                ),
                None => format!(
                    "--user {}: no {root}/etc/passwd to look the name up in (give --rootfs, or a numeric UID)",
                    spec.user
                ),
            })
        }
    };
    let mut groups = Vec::new();
    match &spec.group {
        Some(wanted) => {
            let found = group.and_then(|text| {
                group_entries(text).find(|g| g.name == *wanted || wanted.parse() == Ok(g.gid))
            });
            gid = match (found, wanted.parse::<u32>()) {
                (Some(g), _) => g.gid,
                (None, Ok(number)) => number,
                (None, Err(_)) => {
                    return Err(format!(
                        "--user {}:{wanted}: no such group in {root}/etc/group",
                        spec.user
                    ))
                }
            };
        }
        // Supplementary groups only in the implicit form, as runc.
        None => {
            if let (Some(name), Some(text)) = (name, group) {
                groups = group_entries(text)
                    .filter(|g| g.members.contains(&name))
                    .map(|g| g.gid)
                    .collect();
            }
        }
    }
    groups.push(gid);
    groups.sort_unstable();
    groups.dedup();
    if groups.len() > MAX_GROUPS {
        return Err(format!(
            "--user {}: in {} groups, more than lamina passes ({MAX_GROUPS})",
            spec.user,
            groups.len()
        ));
    }
    Ok(ResolvedUser {
        identity: Identity { uid, gid, groups },
        home: if home.is_empty() { "/".into() } else { home },
    })
}

/// Resolves `spec` (None: root) with the files of `rootfs`.
pub fn resolve_in_root(
    spec: Option<&UserSpec>,
    rootfs: Option<&Path>,
) -> Result<ResolvedUser, String> {
    let read = |name: &str| rootfs.and_then(|root| std::fs::read_to_string(root.join(name)).ok());
    let passwd = read("etc/passwd");
    let group = read("etc/group");
    let root = rootfs.map_or(String::new(), |r| r.display().to_string());
    let root_user = UserSpec {
        user: "0".into(),
        group: None,
    };
    resolve(
        spec.unwrap_or(&root_user),
        passwd.as_deref(),
        group.as_deref(),
        &root,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
        daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
        postgres:x:104:110:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\n\
        nohome:x:2000:2000:::/bin/sh\n";
    const GROUP: &str = "root:x:0:\n\
        daemon:x:1:\n\
        ssl-cert:x:109:postgres\n\
        postgres:x:110:\n\
        staff:x:50:daemon,postgres\n";

    fn resolved(spec: &str) -> Result<ResolvedUser, String> {
        resolve(&parse_user(spec)?, Some(PASSWD), Some(GROUP), "/r")
    }

    fn ids(spec: &str) -> (u32, u32, Vec<u32>) {
        let r = resolved(spec).unwrap();
        (r.identity.uid, r.identity.gid, r.identity.groups)
    }

    #[test]
    fn parses_the_spec() {
        assert_eq!(
            parse_user("a:b"),
            Ok(UserSpec {
                user: "a".into(),
                group: Some("b".into())
            })
        );
        assert_eq!(parse_user("1000").unwrap().group, None);
        assert!(parse_user("").is_err());
        assert!(parse_user(":1").is_err());
        assert!(parse_user("1:").is_err());
    }

    #[test]
    fn names_and_numbers() {
        assert_eq!(ids("postgres"), (104, 110, vec![50, 109, 110]));
        assert_eq!(resolved("postgres").unwrap().home, "/var/lib/postgresql");
        // A uid in passwd is that entry, name and all.
        assert_eq!(ids("104"), (104, 110, vec![50, 109, 110]));
        // An explicit group: only that one.
        assert_eq!(ids("postgres:staff"), (104, 50, vec![50]));
        assert_eq!(ids("postgres:7"), (104, 7, vec![7]));
        // Numbers not in the files are taken as they are; home is /.
        assert_eq!(ids("1234"), (1234, 0, vec![0]));
        assert_eq!(ids("1234:5"), (1234, 5, vec![5]));
        assert_eq!(resolved("1234").unwrap().home, "/");
        assert_eq!(resolved("nohome").unwrap().home, "/");
        assert_eq!(resolved("root").unwrap().home, "/root");
    }

    #[test]
    fn unknown_names_are_one_line_errors() {
        assert_eq!(
            resolved("nobody2").unwrap_err(),
            "--user nobody2: no such user in /r/etc/passwd"
        );
        assert_eq!(
            resolved("postgres:nogroup").unwrap_err(),
            "--user postgres:nogroup: no such group in /r/etc/group"
        );
        let spec = parse_user("postgres").unwrap();
        assert!(resolve(&spec, None, None, "")
            .unwrap_err()
            .contains("give --rootfs, or a numeric UID"));
        let numeric = parse_user("7:8").unwrap();
        assert_eq!(
            resolve(&numeric, None, None, "").unwrap().identity,
            Identity {
                uid: 7,
                gid: 8,
                groups: vec![8]
            }
        );
    }
}
