use super::*;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn sa(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

fn net(text: &str) -> IpNet {
    text.parse().unwrap()
}

#[test]
fn allow_net_targets() {
    let any = |port| AllowTarget::AnyPublic { port };
    let n = |text: &str, port| AllowTarget::Net {
        net: net(text),
        port,
    };
    let host = |name: &str, port| AllowTarget::Host {
        name: name.into(),
        port,
    };
    let table = [
        ("*", any(None)),
        ("*:443", any(Some(443))),
        ("127.0.0.1:8000", n("127.0.0.1/32", Some(8000))),
        ("10.0.0.0/8", n("10.0.0.0/8", None)),
        ("10.1.2.3/8", n("10.0.0.0/8", None)),
        ("192.168.1.0/24:80", n("192.168.1.0/24", Some(80))),
        ("0.0.0.0/0", n("0.0.0.0/0", None)),
        ("1.2.3.4", n("1.2.3.4/32", None)),
        ("[::1]:8000", n("::1/128", Some(8000))),
        ("[::1]", n("::1/128", None)),
        ("::1", n("::1/128", None)),
        ("fd00::/8", n("fd00::/8", None)),
        ("[fd00::/8]:53", n("fd00::/8", Some(53))),
        ("2001:4860::/32:443", n("2001:4860::/32", Some(443))),
        ("example.com:443", host("example.com", 443)),
        ("Example.COM.:443", host("example.com", 443)),
        ("localhost:8000", host("localhost", 8000)),
        ("a-b.c1:65535", host("a-b.c1", 65535)),
    ];
    for (text, want) in table {
        assert_eq!(text.parse::<AllowTarget>(), Ok(want), "{text}");
    }
}

#[test]
fn allow_net_rejects_with_one_clear_line() {
    let table = [
        ("", "empty"),
        ("example.com", "needs a port: HOST:PORT"),
        ("example.com:0", "not a port (1-65535)"),
        ("example.com:http", "not a port"),
        ("1.2.3.4:65536", "not a port"),
        ("1.2.3.4:+80", "not a port"),
        ("*:", "not a port"),
        ("10.0.0.0/33", "prefix length must be 0 to 32"),
        ("10.0.0.0/", "prefix length"),
        ("10.0.0/8", "not an IP address"),
        ("fd00::/129", "0 to 128"),
        ("::1:8000:x", "put one in brackets"),
        ("[::1", "'[' without ']'"),
        ("[::1]8000", "expected ':' after ']'"),
        ("[1.2.3.4]:80", "brackets are for IPv6"),
        ("[::1]:0", "not a port"),
        ("-bad-.com:80", "not a valid host name"),
        ("under_score.com:80", "not a valid host name"),
        ("1.2.3:80", "neither an IP address nor a host name"),
        ("a..b:80", "not a valid host name"),
    ];
    for (text, want) in table {
        let err = text.parse::<AllowTarget>().unwrap_err();
        assert!(err.contains(want), "{text:?}: {err}");
        assert!(!err.contains('\n'), "{text:?}: {err}");
    }
}

#[test]
fn networks() {
    assert!(net("10.0.0.0/8").contains(ip("10.255.0.1")));
    assert!(!net("10.0.0.0/8").contains(ip("11.0.0.1")));
    assert!(!net("10.0.0.0/8").contains(ip("::ffff:10.0.0.1")));
    assert!(net("0.0.0.0/0").contains(ip("255.255.255.255")));
    assert!(net("::/0").contains(ip("ff02::1")));
    assert!(net("fe80::/10").contains(ip("febf::1")));
    assert!(!net("fe80::/10").contains(ip("fec0::1")));
    assert!(net("127.0.0.0/8").covers(&net("127.0.0.1/32")));
    assert!(!net("127.0.0.1/32").covers(&net("127.0.0.0/8")));
    assert!(!net("172.16.0.0/12").covers(&net("172.0.0.0/8")));
    assert_eq!(net("192.168.7.9/16").to_string(), "192.168.0.0/16");
    assert_eq!(IpNet::new(ip("1.2.3.4"), 33), None);
    assert_eq!(IpNet::new(ip("::"), 129), None);
}

#[test]
fn public_and_special_addresses() {
    let table = [
        ("8.8.8.8", None),
        ("1.1.1.1", None),
        ("172.15.255.255", None),
        ("172.32.0.0", None),
        ("100.63.255.255", None),
        ("100.128.0.0", None),
        ("2606:4700::1111", None),
        ("127.0.0.1", Some("loopback")),
        ("127.255.255.254", Some("loopback")),
        ("::1", Some("loopback")),
        ("::ffff:127.0.0.1", Some("loopback")),
        ("64:ff9b::7f00:1", Some("loopback")),
        ("::ffff:8.8.8.8", None),
        ("64:ff9b::808:808", None),
        ("10.0.2.2", Some("private (RFC 1918)")),
        ("172.16.0.1", Some("private (RFC 1918)")),
        ("192.168.1.1", Some("private (RFC 1918)")),
        ("::ffff:192.168.1.1", Some("private (RFC 1918)")),
        ("169.254.169.254", Some("link-local")),
        ("fe80::1", Some("link-local")),
        (
            "100.64.0.1",
            Some("shared address space (CGNAT, 100.64.0.0/10)"),
        ),
        ("fd12:3456::1", Some("unique local (ULA)")),
        ("fc00::1", Some("unique local (ULA)")),
        ("0.0.0.0", Some("\"this network\" (0.0.0.0/8)")),
        ("224.0.0.1", Some("multicast")),
        ("ff02::1", Some("multicast")),
        ("255.255.255.255", Some("reserved (and broadcast)")),
        ("192.0.2.1", Some("documentation")),
        ("2001:db8::1", Some("documentation")),
        ("::", Some("IPv4-compatible (deprecated)")),
        ("::10.0.0.1", Some("IPv4-compatible (deprecated)")),
    ];
    for (text, want) in table {
        let got = special_range(canonical(ip(text))).map(|(_, name)| name);
        assert_eq!(got, want, "{text}");
        assert_eq!(is_public(ip(text)), want.is_none(), "{text}");
    }
}

fn policy(allow: &[&str]) -> Policy {
    let options = NetOptions {
        allow: allow.iter().map(|t| t.parse().unwrap()).collect(),
        ..NetOptions::default()
    };
    Policy::new(&options, &[ip("127.0.0.53")], fake_resolver).unwrap()
}

/// Names the tests resolve, without a network.
fn fake_resolver(name: &str) -> io::Result<Vec<IpAddr>> {
    match name {
        "localhost" => Ok(vec![ip("127.0.0.1"), ip("::1")]),
        "example.com" => Ok(vec![
            ip("93.184.215.14"),
            ip("2606:2800:21f:cb07:6820:80da:af6b:8b2c"),
        ]),
        "intranet.corp" => Ok(vec![ip("10.9.8.7")]),
        "empty.example" => Ok(vec![]),
        _ => Err(io::Error::from_raw_os_error(2)),
    }
}

enum Want {
    To(&'static str),
    Denied(Errno),
}

/// Destinations as the guest names them, through `Policy::route`.
#[test]
fn decisions() {
    use Want::*;
    let table: &[(&[&str], &str, Want)] = &[
        // Nothing leaves unless allowed.
        (&[], "93.184.215.14:80", Denied(Errno::EPERM)),
        (&[], "10.0.2.2:8000", Denied(Errno::EPERM)),
        (&[], "10.0.2.3:53", Denied(Errno::EPERM)),
        // The host's loopback through 10.0.2.2, only when named.
        (&["127.0.0.1:8000"], "10.0.2.2:8000", To("127.0.0.1:8000")),
        (&["127.0.0.1:8000"], "10.0.2.2:8001", Denied(Errno::EPERM)),
        (&["127.0.0.0/8"], "10.0.2.2:22", To("127.0.0.1:22")),
        (&["localhost:8000"], "10.0.2.2:8000", To("127.0.0.1:8000")),
        (
            &["localhost:8000"],
            "[::ffff:10.0.2.2]:8000",
            To("[::ffff:127.0.0.1]:8000"),
        ),
        (&["*"], "10.0.2.2:8000", Denied(Errno::EPERM)),
        (&["0.0.0.0/0"], "10.0.2.2:8000", Denied(Errno::EPERM)),
        (&["*:8000"], "10.0.2.2:8000", Denied(Errno::EPERM)),
        // `*` is any public address, on any port or on one.
        (&["*"], "93.184.215.14:443", To("93.184.215.14:443")),
        (&["*"], "[2606:4700::1111]:443", To("[2606:4700::1111]:443")),
        (&["*:443"], "8.8.8.8:443", To("8.8.8.8:443")),
        (&["*:443"], "8.8.8.8:80", Denied(Errno::EPERM)),
        (&["*"], "192.168.1.1:80", Denied(Errno::EPERM)),
        (&["*"], "169.254.169.254:80", Denied(Errno::EPERM)),
        (&["*"], "100.64.0.1:80", Denied(Errno::EPERM)),
        (&["*"], "[fd00::1]:80", Denied(Errno::EPERM)),
        (&["*"], "[fe80::1]:80", Denied(Errno::EPERM)),
        (&["*"], "[::ffff:192.168.1.1]:80", Denied(Errno::EPERM)),
        (&["*"], "[64:ff9b::a00:1]:80", Denied(Errno::EPERM)),
        (&["*"], "224.0.0.251:5353", Denied(Errno::EPERM)),
        // Broad CIDRs do not name private ranges; ones inside them do.
        (&["0.0.0.0/0"], "8.8.8.8:53", To("8.8.8.8:53")),
        (&["0.0.0.0/0"], "10.1.1.1:80", Denied(Errno::EPERM)),
        (&["::/0"], "[fd00::1]:80", Denied(Errno::EPERM)),
        (&["::/0"], "[::ffff:10.0.0.1]:80", Denied(Errno::EPERM)),
        (&["172.0.0.0/8"], "172.16.0.1:80", Denied(Errno::EPERM)),
        (&["172.0.0.0/8"], "172.15.0.1:80", To("172.15.0.1:80")),
        (&["10.0.0.0/8"], "10.1.1.1:80", To("10.1.1.1:80")),
        (&["10.0.0.0/8:443"], "10.1.1.1:80", Denied(Errno::EPERM)),
        (
            &["192.168.0.0/16"],
            "[::ffff:192.168.3.4]:80",
            To("[::ffff:192.168.3.4]:80"),
        ),
        (
            &["[::ffff:192.168.0.0/112]"],
            "192.168.3.4:80",
            To("192.168.3.4:80"),
        ),
        (&["100.64.0.0/10"], "100.100.1.1:80", To("100.100.1.1:80")),
        (&["fd00::/8"], "[fd00::1]:80", To("[fd00::1]:80")),
        (&["[fe80::/10]:80"], "[fe80::1%2]:80", To("[fe80::1%2]:80")),
        (
            &["169.254.169.254:80"],
            "169.254.169.254:80",
            To("169.254.169.254:80"),
        ),
        // Host names stand for the addresses they resolve to.
        (
            &["example.com:443"],
            "93.184.215.14:443",
            To("93.184.215.14:443"),
        ),
        (
            &["example.com:443"],
            "93.184.215.15:443",
            Denied(Errno::EPERM),
        ),
        (&["intranet.corp:80"], "10.9.8.7:80", To("10.9.8.7:80")),
        // The resolver alias: port 53 to the upstream when any rule exists.
        (&["example.com:443"], "10.0.2.3:53", To("127.0.0.53:53")),
        (&["example.com:443"], "10.0.2.3:80", Denied(Errno::EPERM)),
        // The guest's own loopback and unspecified addresses never leave.
        (&["*", "127.0.0.0/8"], "127.0.0.1:80", Denied(Errno::EPERM)),
        (&["*", "::1"], "[::1]:80", Denied(Errno::EPERM)),
        (&["0.0.0.0/8"], "0.0.0.0:80", Denied(Errno::EPERM)),
        (&["::/0"], "[::]:80", Denied(Errno::EPERM)),
    ];
    for (allow, dest, want) in table {
        let got = policy(allow)
            .route(sa(dest))
            .map_err(|denial| denial.errno());
        let want = match want {
            To(to) => Ok(sa(to)),
            Denied(errno) => Err(*errno),
        };
        assert_eq!(got, want, "{allow:?} -> {dest}");
    }
}

#[test]
fn denials_say_why() {
    let p = policy(&["*"]);
    assert_eq!(
        p.route(sa("10.0.2.2:8000")).unwrap_err().to_string(),
        "127.0.0.1:8000 denied: it is loopback, allowed only by an --allow-net that names it"
    );
    assert_eq!(
        policy(&[]).route(sa("1.1.1.1:53")).unwrap_err().to_string(),
        "1.1.1.1:53 denied: no --allow-net allows it"
    );
    assert_eq!(
        p.route(sa("127.0.0.1:1")).unwrap_err(),
        Denial::GuestLoopback(sa("127.0.0.1:1"))
    );
    let none = Policy::new(
        &NetOptions {
            mode: NetMode::None,
            ..NetOptions::default()
        },
        &[],
        fake_resolver,
    )
    .unwrap();
    for dest in ["1.1.1.1:53", "10.0.2.2:80", "10.0.2.3:53"] {
        let denial = none.route(sa(dest)).unwrap_err();
        assert_eq!(denial, Denial::NoNetwork);
        assert_eq!(denial.errno(), Errno::ENETUNREACH);
    }
    // Rules but no server to forward DNS to.
    let no_dns = Policy::new(
        &NetOptions {
            allow: vec!["*".parse().unwrap()],
            ..NetOptions::default()
        },
        &[],
        fake_resolver,
    )
    .unwrap();
    let denial = no_dns.route(sa("10.0.2.3:53")).unwrap_err();
    assert_eq!(denial, Denial::NoResolver);
    assert_eq!(denial.errno(), Errno::ENETUNREACH);
}

#[test]
fn dns_upstream_is_dns_else_the_hosts() {
    let options = NetOptions {
        allow: vec!["*".parse().unwrap()],
        dns: vec![ip("9.9.9.9"), ip("2620:fe::fe")],
        ..NetOptions::default()
    };
    let p = Policy::new(&options, &[ip("127.0.0.53")], fake_resolver).unwrap();
    assert_eq!(p.route(sa("10.0.2.3:53")), Ok(sa("9.9.9.9:53")));
    assert_eq!(p.upstream_dns(), [ip("9.9.9.9"), ip("2620:fe::fe")]);
    assert_eq!(policy(&["*"]).upstream_dns(), [ip("127.0.0.53")]);
}

#[test]
fn policy_errors() {
    let target = |t: &str| t.parse::<AllowTarget>().unwrap();
    let publish = |t: &str| t.parse::<Publish>().unwrap();
    let none = |options: NetOptions| NetOptions {
        mode: NetMode::None,
        ..options
    };
    let table = [
        (
            none(NetOptions {
                allow: vec![target("*")],
                ..NetOptions::default()
            }),
            "--net none conflicts with --allow-net: drop one of them",
        ),
        (
            none(NetOptions {
                publish: vec![publish("8080:80")],
                ..NetOptions::default()
            }),
            "--net none conflicts with --publish: drop one of them",
        ),
        (
            none(NetOptions {
                dns: vec![ip("1.1.1.1")],
                ..NetOptions::default()
            }),
            "--net none conflicts with --dns: drop one of them",
        ),
        (
            NetOptions {
                allow: vec![target("nowhere.invalid:80")],
                ..NetOptions::default()
            },
            "--allow-net nowhere.invalid:80: cannot resolve 'nowhere.invalid': No such file or directory",
        ),
        (
            NetOptions {
                allow: vec![target("empty.example:80")],
                ..NetOptions::default()
            },
            "--allow-net empty.example:80: cannot resolve 'empty.example': no addresses",
        ),
        (
            NetOptions {
                publish: vec![publish("8080:80"), publish("127.0.0.1:8080:81")],
                ..NetOptions::default()
            },
            "-p 127.0.0.1:8080:81: host port 8080 is published twice",
        ),
    ];
    for (options, want) in table {
        let err = Policy::new(&options, &[], fake_resolver).unwrap_err();
        assert_eq!(err.to_string(), want);
    }
    // The same host port on two addresses is fine.
    let options = NetOptions {
        publish: vec![publish("127.0.0.1:8080:80"), publish("[::1]:8080:80")],
        ..NetOptions::default()
    };
    let p = Policy::new(&options, &[], fake_resolver).unwrap();
    assert_eq!(p.published().len(), 2);
}

#[test]
fn publish_values() {
    let p = |host_ip: Option<&str>, host_port, guest_port| Publish {
        host_ip: host_ip.map(ip),
        host_port,
        guest_port,
    };
    let table = [
        ("8080:80", p(None, 8080, 80)),
        ("8080:80/tcp", p(None, 8080, 80)),
        ("127.0.0.1:8080:80", p(Some("127.0.0.1"), 8080, 80)),
        ("0.0.0.0:1:65535", p(Some("0.0.0.0"), 1, 65535)),
        ("[::1]:8080:80", p(Some("::1"), 8080, 80)),
    ];
    for (text, want) in table {
        assert_eq!(text.parse::<Publish>(), Ok(want), "{text}");
    }
    let rejects = [
        ("80", "expected [HOSTIP:]HOSTPORT:GUESTPORT"),
        ("8080:80/udp", "only TCP ports can be published"),
        ("8080:80/xyz", "expected"),
        ("8000-8010:8000-8010", "port ranges are not supported"),
        ("localhost:8080:80", "not an IP address"),
        ("::1:8080:80", "expected"),
        ("[::1]:8080", "expected"),
        ("[1.2.3.4]:8080:80", "not an IPv6 address"),
        ("0:80", "not a port"),
        ("8080:0", "not a port"),
        ("8080:", "not a port"),
        ("a:b:c:d", "expected"),
    ];
    for (text, want) in rejects {
        let err = text.parse::<Publish>().unwrap_err();
        assert!(err.contains(want), "{text:?}: {err}");
    }
}

#[test]
fn add_host_hostname_dns_and_net_values() {
    let add = |name: &str, addr: &str| AddHost {
        name: name.into(),
        ip: ip(addr),
    };
    let table = [
        ("db:10.0.0.5", add("db", "10.0.0.5")),
        ("db=10.0.0.5", add("db", "10.0.0.5")),
        ("DB.Local:10.0.0.5", add("DB.Local", "10.0.0.5")),
        ("v6host:::1", add("v6host", "::1")),
        ("v6host:[2001:db8::33]", add("v6host", "2001:db8::33")),
        (
            "host.docker.internal:host-gateway",
            add("host.docker.internal", "10.0.2.2"),
        ),
    ];
    for (text, want) in table {
        assert_eq!(text.parse::<AddHost>(), Ok(want), "{text}");
    }
    for (text, want) in [
        ("db", "expected NAME:IP"),
        ("db:nowhere", "not an IP address (or host-gateway)"),
        (":1.2.3.4", "empty"),
        ("bad_name:1.2.3.4", "not a valid host name"),
    ] {
        let err = text.parse::<AddHost>().unwrap_err();
        assert!(err.contains(want), "{text:?}: {err}");
    }

    assert_eq!("web".parse::<Hostname>().map(|h| h.0), Ok("web".into()));
    assert_eq!(
        "Web.Example.com.".parse::<Hostname>().map(|h| h.0),
        Ok("Web.Example.com".into())
    );
    let long = |len: usize| format!("{}.{}", "a".repeat(30), "b".repeat(len - 31));
    assert!(long(65)
        .parse::<Hostname>()
        .unwrap_err()
        .contains("longer than 64"));
    assert!(long(64).parse::<Hostname>().is_ok());
    assert!("a"
        .repeat(64)
        .parse::<Hostname>()
        .unwrap_err()
        .contains("not a valid host name"));
    assert!("web server"
        .parse::<Hostname>()
        .unwrap_err()
        .contains("not a valid host name"));
    assert!("".parse::<Hostname>().unwrap_err().contains("empty"));
    assert_eq!(Hostname::default().as_str(), "lamina");

    assert_eq!(parse_dns("1.1.1.1"), Ok(ip("1.1.1.1")));
    assert_eq!(
        parse_dns("2606:4700:4700::1111"),
        Ok(ip("2606:4700:4700::1111"))
    );
    assert_eq!(parse_dns("[::1]"), Ok(ip("::1")));
    assert!(parse_dns("dns.google")
        .unwrap_err()
        .contains("takes an IP address"));
    assert!(parse_dns("0.0.0.0")
        .unwrap_err()
        .contains("not a DNS server"));

    assert_eq!("none".parse::<NetMode>(), Ok(NetMode::None));
    assert!("host"
        .parse::<NetMode>()
        .unwrap_err()
        .contains("only 'none'"));
    assert_eq!(NetMode::default(), NetMode::Forward);
}

#[test]
fn etc_hosts_as_docker_writes_it() {
    let extra = ["db:10.0.0.5", "v6:[fd00::5]"].map(|t| t.parse::<AddHost>().unwrap());
    let hosts = render_hosts(&"web.example.com".parse().unwrap(), &extra);
    assert_eq!(
        hosts,
        "127.0.0.1\tlocalhost\n\
         ::1\tlocalhost ip6-localhost ip6-loopback\n\
         fe00::0\tip6-localnet\n\
         ff00::0\tip6-mcastprefix\n\
         ff02::1\tip6-allnodes\n\
         ff02::2\tip6-allrouters\n\
         10.0.0.5\tdb\n\
         fd00::5\tv6\n\
         127.0.1.1\tweb.example.com web\n"
    );
    let plain = render_hosts(&Hostname::default(), &[]);
    assert!(plain.ends_with("ff02::2\tip6-allrouters\n127.0.1.1\tlamina\n"));
    assert_eq!(render_hostname(&"web".parse().unwrap()), "web\n");
}

#[test]
fn resolv_conf_from_the_hosts() {
    let host = HostResolvConf::parse(
        "# comment\n\
         nameserver 127.0.0.53\n\
         nameserver fe80::1%eth0\n\
         nameserver 2001:4860:4860::8888\n\
         domain old.example\n\
         search corp.example example.com\n\
         options edns0 trust-ad\n\
         options ndots:2\n\
         sortlist 130.155.160.0/255.255.240.0\n",
    );
    assert_eq!(
        host.nameservers,
        [ip("127.0.0.53"), ip("2001:4860:4860::8888")]
    );
    assert_eq!(host.search, ["corp.example", "example.com"]);
    assert_eq!(host.options, ["edns0", "trust-ad", "ndots:2"]);
    assert_eq!(
        render_resolv_conf(&host, &host.nameservers),
        "# Generated by lamina: 10.0.2.3 forwards to 127.0.0.53, 2001:4860:4860::8888.\n\
         nameserver 10.0.2.3\n\
         search corp.example example.com\n\
         options edns0 trust-ad ndots:2\n"
    );
    assert_eq!(
        render_resolv_conf(&HostResolvConf::default(), &[]),
        "# Generated by lamina: 10.0.2.3 forwards to no server (the host names none).\n\
         nameserver 10.0.2.3\n"
    );
}
