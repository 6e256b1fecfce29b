//! The value rules of deploy.yaml version 2, each a pure function returning what is
//! wrong in words a user can act on (the caller adds the key's place).
//!
//! Names are checked stricter than CloudFormation's stack-name rule
//! (`[a-zA-Z][-a-zA-Z0-9]*`): lower case only, because a service's name is also its
//! default ECR repository (`{application}-{service}`, lower case only) and, with the
//! environment's, part of DNS-like names in the templates.

/// The longest application name (`[a-z][a-z0-9-]{0,23}`): it prefixes every stack,
/// repository and many resource names.
pub(crate) const MAX_APPLICATION_NAME: usize = 24;

/// CloudFormation's limit for a stack name.
pub(crate) const MAX_STACK_NAME: usize = 128;

/// An application name: `[a-z][a-z0-9-]{0,23}`, not ending in `-`.
pub(super) fn application_name(name: &str) -> Result<(), String> {
    lower_name(name, MAX_APPLICATION_NAME)
}

/// An environment or service name: `[a-z][a-z0-9-]*`, not ending in `-` (the length is
/// checked on the stack name it makes).
pub(super) fn part_name(name: &str) -> Result<(), String> {
    lower_name(name, MAX_STACK_NAME)
}

fn lower_name(name: &str, max: usize) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
        && name.len() <= max;
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid name: use lower-case letters, digits and hyphens, starting \
             with a letter and not ending with a hyphen, at most {max} characters"
        ))
    }
}

/// A DNS name such as `staging.example.com`: labels of letters, digits and hyphens.
pub(super) fn domain(name: &str) -> Result<(), String> {
    let ok = name.len() <= 253
        && name.contains('.')
        && name.split('.').all(|label| label_ok(label, true));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a domain name: write it like `staging.example.com` (letters, digits \
             and hyphens, dot-separated, no trailing dot, no scheme)"
        ))
    }
}

fn label_ok(label: &str, upper: bool) -> bool {
    let bytes = label.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes.iter().all(|b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || *b == b'-'
                || (upper && b.is_ascii_uppercase())
        })
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

/// A service's `host`: one DNS label under the environment's domain, or `@`.
pub(super) fn host(host: &str) -> Result<(), String> {
    if host == "@" || label_ok(host, false) {
        Ok(())
    } else {
        Err(format!(
            "`{host}` is not a host label: write one lower-case DNS label such as `app` (letters, \
             digits and hyphens, at most 63 characters) for `app.<domain>`, or `@` for the \
             environment's domain itself"
        ))
    }
}

/// The longest path prefix: the listener rules add `/*` and `/api/*` to it and a rule's
/// path pattern may be at most 128 characters.
const MAX_PATH: usize = 100;

/// A service's `path`: `/seg[/seg…]`, segments of `A-Z a-z 0-9 . _ ~ -`.
pub(super) fn path(path: &str) -> Result<(), String> {
    let ok = path.len() <= MAX_PATH
        && path.starts_with('/')
        && path[1..].split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-'))
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{path}` is not a path prefix: write it like `/docs` or `/docs/v2` (starting with `/`, \
             no trailing `/`, no `*` or `?`, segments of letters, digits, `.`, `_`, `~` and `-`, \
             at most {MAX_PATH} characters)"
        ))
    }
}

/// True when `inner` is `outer` or under it (`/docs/v2` under `/docs`, not `/docsx`).
pub(super) fn path_nested(outer: &str, inner: &str) -> bool {
    inner == outer
        || inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The Fargate CPU/memory pairs the service template accepts (its `Rules`, the same as
/// cfn/app.yaml's): memory in MiB by CPU units.
pub(crate) fn fargate_memory(cpu: u64) -> Option<&'static [u64]> {
    Some(match cpu {
        256 => &[512, 1024, 2048],
        512 => &[1024, 2048, 3072, 4096],
        1024 => &[2048, 3072, 4096, 5120, 6144, 7168, 8192],
        2048 => &[4096, 5120, 6144, 7168, 8192, 16384],
        4096 => &[8192, 16384, 30720],
        _ => return None,
    })
}

/// `cpu`/`memory` is a pair Fargate runs.
pub(super) fn fargate(cpu: u64, memory: u64) -> Result<(), String> {
    let list = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
    match fargate_memory(cpu) {
        None => Err(format!(
            "{cpu} is not a Fargate CPU size; use 256, 512, 1024, 2048 or 4096"
        )),
        Some(sizes) if sizes.contains(&memory) => Ok(()),
        Some(sizes) => Err(format!(
            "memory {memory} does not fit cpu {cpu} on Fargate; with cpu {cpu} use one of {}",
            list(sizes)
        )),
    }
}

/// `login`: `cognito` or `none`.
pub(super) fn login(value: &str) -> Result<(), String> {
    match value {
        "cognito" | "none" => Ok(()),
        _ => Err(format!(
            "`{value}` is not a login; use `cognito` (log in through the environment's user pool) \
             or `none` (public)"
        )),
    }
}

/// `health_path`: an absolute URL path for the target group's check.
pub(super) fn health_path(value: &str) -> Result<(), String> {
    if value.starts_with('/') && value.len() <= 1024 && !value.contains(char::is_whitespace) {
        Ok(())
    } else {
        Err(format!(
            "`{value}` is not a URL path; write it like `/healthz`"
        ))
    }
}

/// `container_health_check`: `none`, or an absolute command with single-space-separated
/// arguments (run without a shell), as the template's AllowedPattern says.
pub(super) fn container_health_check(value: &str) -> Result<(), String> {
    let ok = value == "none"
        || (value.starts_with('/')
            && value.len() <= 1024
            && value.split(' ').all(|word| !word.is_empty()));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{value}` is not a health check command: write `none` or an absolute path to an \
             executable in the image and its arguments, separated by single spaces (no shell), \
             e.g. \"/service healthcheck\""
        ))
    }
}

/// An ECR repository name (lower case, `/`-separated components).
pub(super) fn repository(name: &str) -> Result<(), String> {
    let component_ok = |c: &str| {
        !c.is_empty()
            && c.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            })
            && c.as_bytes()[0].is_ascii_alphanumeric()
            && c.as_bytes()[c.len() - 1].is_ascii_alphanumeric()
    };
    if (2..=256).contains(&name.len()) && name.split('/').all(component_ok) {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not an ECR repository name: lower-case letters, digits, `.`, `_`, `-` \
             and `/`, 2 to 256 characters"
        ))
    }
}

/// An IAM ARN of `kind` (`role`, `policy`) in any partition.
pub(super) fn iam_arn(value: &str, kind: &str) -> Result<(), String> {
    let ok = value.strip_prefix("arn:aws").and_then(|rest| {
        let (partition_rest, tail) = rest.split_once(":iam::")?;
        let partition_ok = partition_rest
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-');
        let (account, resource) = tail.split_once(':')?;
        let name = resource.strip_prefix(kind)?.strip_prefix('/')?;
        Some(
            partition_ok
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && !name.is_empty(),
        )
    });
    if ok == Some(true) {
        Ok(())
    } else {
        Err(format!(
            "`{value}` is not an IAM {kind} ARN; expected arn:aws:iam::<12-digit account>:{kind}/NAME"
        ))
    }
}

/// A region name such as `eu-west-1`.
pub(super) fn region(value: &str) -> Result<(), String> {
    let parts: Vec<&str> = value.split('-').collect();
    let ok = parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u32>().is_ok();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{value}` is not an AWS region name; write it like `eu-west-1`"
        ))
    }
}

/// A Cognito hosted-UI domain prefix: lower-case letters, digits and hyphens, 1–63
/// characters, not starting or ending with a hyphen, without `aws`, `amazon` or `cognito`
/// (Cognito refuses those).
pub(super) fn cognito_domain_prefix(value: &str) -> Result<(), String> {
    let reserved = ["aws", "amazon", "cognito"]
        .iter()
        .find(|w| value.contains(*w));
    if let Some(word) = reserved {
        return Err(format!(
            "`{value}` contains `{word}`, which Cognito refuses in a domain prefix"
        ));
    }
    if label_ok(value, false) {
        Ok(())
    } else {
        Err(format!(
            "`{value}` is not a Cognito domain prefix: lower-case letters, digits and hyphens, 1 to \
             63 characters, not starting or ending with a hyphen"
        ))
    }
}

/// A Route 53 hosted zone id such as `Z0123456789ABCDEFGHIJ` (upper-case letters and digits).
pub(super) fn hosted_zone_id(value: &str) -> Result<(), String> {
    if (1..=32).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        Ok(())
    } else {
        Err(format!(
            "`{value}` is not a hosted zone id; write the id alone, like `Z0123456789ABCDEFGHIJ` \
             (not `/hostedzone/…`)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for good in ["hello", "a", "web-2", "a1"] {
            application_name(good).unwrap();
            part_name(good).unwrap();
        }
        for bad in ["", "Hello", "1a", "a_b", "a-", "-a", "a.b"] {
            assert!(part_name(bad).is_err(), "{bad}");
        }
        assert!(application_name(&"a".repeat(25)).is_err());
        application_name(&"a".repeat(24)).unwrap();
    }

    #[test]
    fn hosts_and_domains() {
        for good in ["app", "www", "a-1", "@", "1x"] {
            host(good).unwrap();
        }
        for bad in ["", "App", "a.b", "-a", "a-", "*", &"a".repeat(64)] {
            assert!(host(bad).is_err(), "{bad}");
        }
        domain("staging.example.com").unwrap();
        for bad in ["example", "https://x.com", "x.com.", "a..b", "a_b.com"] {
            assert!(domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths() {
        for good in ["/docs", "/docs/v2", "/a.b_c~d-e"] {
            path(good).unwrap();
        }
        for bad in [
            "", "/", "docs", "/docs/", "/do*cs", "/a//b", "/a?b", "/..", "/a b",
        ] {
            assert!(path(bad).is_err(), "{bad}");
        }
        assert!(path_nested("/docs", "/docs/v2"));
        assert!(path_nested("/docs", "/docs"));
        assert!(!path_nested("/docs", "/docsx"));
        assert!(!path_nested("/docs/v2", "/docs"));
    }

    #[test]
    fn fargate_pairs() {
        fargate(256, 512).unwrap();
        fargate(4096, 30720).unwrap();
        assert!(
            fargate(256, 4096)
                .unwrap_err()
                .contains("use one of 512, 1024, 2048")
        );
        assert!(
            fargate(300, 512)
                .unwrap_err()
                .contains("not a Fargate CPU size")
        );
    }

    #[test]
    fn other_values() {
        login("cognito").unwrap();
        assert!(login("oidc").is_err());
        container_health_check("none").unwrap();
        container_health_check("/service healthcheck").unwrap();
        assert!(container_health_check("service  x").is_err());
        assert!(container_health_check("/a  b").is_err());
        repository("hello-web").unwrap();
        repository("team/hello").unwrap();
        assert!(repository("Hello").is_err());
        iam_arn("arn:aws:iam::123456789012:role/x", "role").unwrap();
        iam_arn("arn:aws-us-gov:iam::123456789012:policy/a/b", "policy").unwrap();
        assert!(iam_arn("arn:aws:iam::123:role/x", "role").is_err());
        assert!(iam_arn("arn:aws:iam::123456789012:policy/x", "role").is_err());
        region("eu-west-1").unwrap();
        region("us-gov-west-1").unwrap();
        assert!(region("europe").is_err());
        cognito_domain_prefix("hello-staging-login").unwrap();
        assert!(
            cognito_domain_prefix("my-cognito")
                .unwrap_err()
                .contains("`cognito`")
        );
        hosted_zone_id("Z0123456789ABCDEFGHIJ").unwrap();
        assert!(hosted_zone_id("/hostedzone/Z1").is_err());
    }
}
