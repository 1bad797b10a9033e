//! Where a principal's secret comes from: `secret: {env: NAME}`, `secret: {file: PATH}`, or
//! the default secret. The only part of the policies that reads the environment or files other
//! than the three policy files; nothing here puts a secret into a message.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

use super::problems::{entry_label, Problems};
use super::schema::{Principal, PRINCIPALS_FILE};
use super::Environment;
use crate::crypto::Secret;

/// The secret of every principal without a `secret:` entry. Meant for the demo, where all
/// principals share the seed's fixed secret.
pub const DEFAULT_SECRET_ENV: &str = "S3GATE_DEFAULT_SECRET";

/// `secret: {env: NAME}` or `secret: {file: PATH}`: the policy files say where a secret is,
/// never what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Env(String),
    /// Relative paths are relative to the policy directory.
    File(PathBuf),
}

impl<'de> Deserialize<'de> for SecretSource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        use serde_norway::Value;
        // By hand rather than derived, so that no error message echoes the value: a secret
        // pasted here in plain text must not end up in logs or CI output.
        let value = Value::deserialize(deserializer)?;
        let entry = match &value {
            Value::Mapping(map) if map.len() == 1 => map.iter().next(),
            _ => None,
        };
        match entry {
            Some((Value::String(kind), Value::String(name))) if !name.is_empty() => {
                match kind.as_str() {
                    "env" => return Ok(SecretSource::Env(name.clone())),
                    "file" => return Ok(SecretSource::File(PathBuf::from(name))),
                    _ => {}
                }
            }
            _ => {}
        }
        Err(D::Error::custom(
            "secret must be {env: VARIABLE} or {file: PATH} (never the secret itself)",
        ))
    }
}

/// The principal's secret, read now from where `secret:` says (or the default secret). `None`,
/// with a warning, when there is none: the principal's lookups still work, but no signature
/// of theirs can be valid. Warnings name the variable or file, never the value.
pub fn resolve(
    p: &Principal,
    index: usize,
    dir: &Path,
    default_secret: Option<&str>,
    env: &Environment<'_>,
    warnings: &mut Problems,
) -> Option<Secret> {
    // Disabled principals sign nothing; their secret need not exist.
    if p.disabled {
        return None;
    }
    let at = entry_label("principal", index, &p.name);
    let cannot_sign = "it can't sign requests";
    match &p.secret {
        Some(SecretSource::Env(name)) => {
            let secret = (env.var)(name).and_then(Secret::new);
            if secret.is_none() {
                warnings.add(
                    PRINCIPALS_FILE,
                    &at,
                    format_args!("secret variable {name} is not set or empty; {cannot_sign}"),
                );
            }
            secret
        }
        Some(SecretSource::File(path)) => {
            let path = dir.join(path);
            match std::fs::read(&path) {
                // Trimmed: files written with `echo` or an editor end with a newline.
                Ok(bytes) => {
                    let secret = Secret::new(bytes.trim_ascii());
                    if secret.is_none() {
                        warnings.add(
                            PRINCIPALS_FILE,
                            &at,
                            format_args!("secret file {} is empty; {cannot_sign}", path.display()),
                        );
                    }
                    secret
                }
                Err(e) => {
                    warnings.add(
                        PRINCIPALS_FILE,
                        &at,
                        format_args!(
                            "cannot read secret file {}: {e}; {cannot_sign}",
                            path.display()
                        ),
                    );
                    None
                }
            }
        }
        None => {
            let secret = default_secret.and_then(Secret::new);
            if secret.is_none() {
                warnings.add(
                    PRINCIPALS_FILE,
                    &at,
                    format_args!(
                        "no secret configured (no `secret:`, and {DEFAULT_SECRET_ENV} is not set); \
                         {cannot_sign}"
                    ),
                );
            }
            secret
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::crypto::{self, Scope};
    use crate::policy::fixtures::*;
    use crate::policy::{Policies, Sigv2Check};
    use std::borrow::Cow;

    const SCOPE: &str = "20261126/us-east-1/s3";

    /// The signing key the service hands out for `digest` (at `SCOPE`).
    fn issued_key(policies: &Policies, digest: &str) -> Option<String> {
        let scope = Scope::parse(SCOPE).unwrap();
        let doc = policies.entitlements(digest, Some(&scope)).unwrap();
        doc.signing_key.clone()
    }

    /// The signing key of `secret` at `SCOPE`, computed directly.
    fn key_of(secret: &str) -> Option<String> {
        let scope = Scope::parse(SCOPE).unwrap();
        let key = crypto::signing_key(&Secret::new(secret).unwrap(), &scope).unwrap();
        Some(crypto::hex(&key))
    }

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("s3gate-policy-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// `principals` with a `secret:` entry (`{env: NAME}`, `{file: PATH}`, or anything to be
    /// refused) added to the principal called `name`.
    fn with_secret(principals: &str, name: &str, secret: &str) -> String {
        let entry = format!("  - name: {name}\n");
        let at = principals.find(&entry).unwrap() + entry.len();
        format!(
            "{}    secret: {secret}\n{}",
            &principals[..at],
            &principals[at..]
        )
    }

    #[test]
    fn demo_principals_share_the_default_secret() {
        let policies = demo();
        assert_eq!(issued_key(&policies, ALICE), key_of("immuta"));
        assert_eq!(issued_key(&policies, BOB), key_of("immuta"));
        // Disabled: no key, whatever the secret.
        assert_eq!(issued_key(&policies, DAVE), None);
        // No scope, no key.
        let doc = policies.entitlements(ALICE, None).unwrap();
        assert_eq!(doc.signing_key, None);
        assert!(matches!(doc, Cow::Borrowed(_)));
    }

    #[test]
    fn secrets_come_from_the_named_variable_or_file() {
        let dir = temp_dir("secrets");
        std::fs::create_dir_all(dir.join("secrets")).unwrap();
        std::fs::write(dir.join("secrets/carol"), "  carol-secret\n").unwrap();
        let absolute = dir.join("alice.secret");
        std::fs::write(&absolute, "alice-secret").unwrap();
        let p = with_secret(&principals(), "bob", "{env: BOB_SECRET}");
        let p = with_secret(&p, "carol", "{file: secrets/carol}");
        let p = with_secret(&p, "alice", &format!("{{file: {}}}", absolute.display()));
        let p = with_secret(&p, "erin", "{env: ERIN_SECRET}");
        let var = |name: &str| match name {
            "BOB_SECRET" => Some("bob-secret".to_owned()),
            "ERIN_SECRET" => Some("erin-secret".to_owned()),
            _ => None,
        };
        let policies = load_in(&dir, &p, &var).unwrap();
        assert!(policies.warnings().is_empty(), "{:?}", policies.warnings());
        assert_eq!(issued_key(&policies, BOB), key_of("bob-secret"));
        // Relative to the policy directory, trimmed.
        assert_eq!(issued_key(&policies, CAROL), key_of("carol-secret"));
        assert_eq!(issued_key(&policies, ALICE), key_of("alice-secret"));
        // SigV2 with the same secrets (signature computed with Python's hmac module).
        let sts = b"GET\n\n\n1700000000\n/s3p/immuta/sales/";
        assert_eq!(
            policies.verify_sigv2(BOB, sts, "0xgihg/vdx5+9ok/GjQd4PQK5mo="),
            Ok(("bob", Sigv2Check::Valid))
        );
        assert_eq!(
            policies.verify_sigv2(BOB, sts, "BWZ1neSo/w5NKRYZCDXsdxet6dI="),
            Ok(("bob", Sigv2Check::Mismatch))
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_secrets_are_warnings_and_such_principals_cannot_sign() {
        let dir = temp_dir("missing-secrets");
        std::fs::write(dir.join("empty"), " \n").unwrap();
        let p = with_secret(&principals(), "bob", "{env: BOB_SECRET}");
        let p = with_secret(&p, "carol", "{file: empty}");
        let p = with_secret(&p, "alice", "{file: nope}");
        let p = with_secret(&p, "dave", "{env: DAVE_SECRET}");
        // Set to the empty string counts as missing; the default secret is no fallback for
        // a principal that names its own.
        let var = |name: &str| match name {
            "BOB_SECRET" => Some(String::new()),
            DEFAULT_SECRET_ENV => Some("immuta".to_owned()),
            _ => None,
        };
        let policies = load_in(&dir, &p, &var).unwrap();
        let warnings = policies.warnings().join("\n");
        assert_eq!(policies.warnings().len(), 3, "{warnings}");
        assert!(
            warnings.contains(&format!(
                "principals.yaml: principal #1 \"alice\": cannot read secret file {}: ",
                dir.join("nope").display()
            )),
            "{warnings}"
        );
        assert!(warnings.contains(
            "principals.yaml: principal #2 \"bob\": secret variable BOB_SECRET is not set or empty; it can't sign requests"
        ), "{warnings}");
        assert!(warnings.contains(&format!(
            "principals.yaml: principal #3 \"carol\": secret file {} is empty; it can't sign requests",
            dir.join("empty").display()
        )), "{warnings}");
        // Disabled principals need no secret: no warning for dave.
        assert!(!warnings.contains("dave"), "{warnings}");
        for digest in [ALICE, BOB, CAROL, DAVE] {
            assert_eq!(issued_key(&policies, digest), None);
        }
        // Lookups still work.
        assert!(policies.lookup(BOB).unwrap().enabled);
        let sts = b"GET\n\n\n1700000000\n/s3p/immuta/sales/";
        let sig = "BWZ1neSo/w5NKRYZCDXsdxet6dI=";
        assert_eq!(
            policies.verify_sigv2(BOB, sts, sig),
            Ok(("bob", Sigv2Check::NoSecret))
        );
        assert_eq!(
            policies.verify_sigv2(DAVE, sts, sig),
            Ok(("dave", Sigv2Check::Disabled))
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn without_a_default_secret_principals_without_secret_cannot_sign() {
        let policies = load_in(Path::new("/nonexistent"), &principals(), &|_| None).unwrap();
        assert_eq!(
            policies.warnings(),
            [(1, "alice"), (2, "bob"), (3, "carol"), (5, "erin")].map(|(n, name)| format!(
                "principals.yaml: principal #{n} \"{name}\": no secret configured (no `secret:`, and \
                 S3GATE_DEFAULT_SECRET is not set); it can't sign requests",
            ))
        );
        assert_eq!(issued_key(&policies, ALICE), None);
        let sts = b"GET\n\n\n1700000000\n/s3p/immuta/sales/";
        assert_eq!(
            policies.verify_sigv2(ALICE, sts, "BWZ1neSo/w5NKRYZCDXsdxet6dI="),
            Ok(("alice", Sigv2Check::NoSecret))
        );
    }

    #[test]
    fn secrets_never_appear_in_errors_or_warnings() {
        // A secret pasted in plain text is refused without being repeated.
        for secret in [
            "hunter2-plain",
            "{env: hunter2-plain, file: x}",
            "{path: hunter2-plain}",
            "{env: [hunter2-plain]}",
            "{env: \"\"}",
            "[hunter2-plain]",
        ] {
            let p = with_secret(&principals(), "carol", secret);
            let e = errors(DATA_SOURCES, &p, RULES);
            assert!(
                e.starts_with("principals.yaml: ")
                    && e.contains("secret must be {env: VARIABLE} or {file: PATH}"),
                "{secret}: {e}"
            );
            assert!(!e.contains("hunter2"), "{e}");
        }
        let p = with_secret(&principals(), "carol", "{env: A=B}");
        let e = errors(DATA_SOURCES, &p, RULES);
        assert_eq!(
            e,
            "principals.yaml: principal #3 \"carol\": secret env name contains '=' or NUL"
        );
        // Warnings name where a secret was looked for, never a value found.
        let var = |name: &str| (name == DEFAULT_SECRET_ENV).then(|| "hunter2-default".to_owned());
        let r = RULES.replace("attribute: region", "attribute: regoin");
        let env = Environment {
            var: &var,
            token_secret: TOKEN_SECRET,
        };
        let policies =
            Policies::from_yaml(DATA_SOURCES, &principals(), &r, Path::new("/x"), &env).unwrap();
        assert!(!policies.warnings().is_empty());
        assert!(!format!("{policies:?}").contains("hunter2"));
    }
}
