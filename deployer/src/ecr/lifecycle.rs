//! The lifecycle policy of the repositories we create, and what we do about an existing
//! repository's policy.
//!
//! # Why only untagged images expire
//!
//! One repository serves every environment (and any `deployer push`), and ECR's rules
//! know nothing about stacks: they select images by tag status, tag prefix or pattern,
//! count and age. A count rule over all images ("keep the newest 30, any tag", our old
//! default) lets a busy staging push out the image production runs, and the next task
//! production starts fails with `CannotPullContainerError`.
//!
//! So the one rule is: **untagged images expire [`UNTAGGED_EXPIRE_DAYS`] days after they
//! were pushed; tagged images are never selected by any rule.** Every image the deployer
//! pushes is tagged (the commit SHA, a tag derived from it and the digest when a re-run
//! built another image, the `--tag` given, or `digest-<12 hex>` outside a git checkout),
//! and a deployed stack references it by digest, so no image a stack can reference is
//! ever expired. What does expire: manifests someone untagged on purpose, and leftovers
//! of pushes that stopped before the tag was written. Previews (dry runs) push nothing,
//! so they use no retention at all.
//!
//! The price: tagged images accumulate. Delete the ones no stack references by hand
//! (`aws ecr batch-delete-image`); the README's push section shows how to find them.
//!
//! ECR's evaluation rules this relies on (Lifecycle policy evaluation rules, ECR User
//! Guide): rules run in `rulePriority` order; an image matched by a rule's tag
//! selection is not evaluated by rules of lower priority; a `tagStatus: untagged` rule
//! never matches an image that has a tag.

use serde_json::{Value, json};

/// Days after which an untagged image expires.
pub(crate) const UNTAGGED_EXPIRE_DAYS: i32 = 14;

/// The policy of a repository we create (and of one whose policy was our old default).
pub(crate) fn policy() -> String {
    json!({
        "rules": [{
            "rulePriority": 1,
            "description": format!(
                "Expire untagged images {UNTAGGED_EXPIRE_DAYS} days after push; tagged images (everything the deployer pushes) never expire"
            ),
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": UNTAGGED_EXPIRE_DAYS,
            },
            "action": { "type": "expire" },
        }]
    })
    .to_string()
}

/// The policy earlier versions gave the repositories they created: it counts every
/// image, so it can expire a deployed one. A repository still carrying exactly this
/// policy is ours to update.
pub(crate) fn legacy_policy() -> Value {
    json!({
        "rules": [{
            "rulePriority": 1,
            "description": "Keep the last 30 images",
            "selection": { "tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 30 },
            "action": { "type": "expire" },
        }]
    })
}

/// What to do about an existing repository's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Ours (current), none, or one that never expires a tagged image: leave it.
    Keep,
    /// Our old default: replace it with [`policy`].
    Replace,
    /// Someone else's, and it can expire tagged images: leave it, but say so.
    Warn(String),
}

/// Judges an existing repository's policy text (`None`: it has none).
pub(crate) fn judge(text: Option<&str>) -> Verdict {
    let Some(text) = text else {
        return Verdict::Keep;
    };
    let Ok(parsed) = serde_json::from_str::<Value>(text) else {
        return Verdict::Warn("its lifecycle policy is not JSON we can read".to_owned());
    };
    if parsed == legacy_policy() {
        return Verdict::Replace;
    }
    let risky: Vec<String> = parsed["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|rule| {
            rule["action"]["type"] == "expire"
                && matches!(
                    rule["selection"]["tagStatus"].as_str(),
                    Some("any" | "tagged")
                )
        })
        .map(|rule| {
            rule["rulePriority"]
                .as_i64()
                .map_or_else(|| "?".to_owned(), |p| p.to_string())
        })
        .collect();
    if risky.is_empty() {
        Verdict::Keep
    } else {
        Verdict::Warn(format!(
            "its lifecycle policy can expire tagged images (rule {}), including one a stack runs: \
             a task that starts after that fails with CannotPullContainerError. Expire only untagged \
             images (the deployer's default policy: see the README's push section)",
            risky.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    //! The policy is checked by evaluating it as ECR would against a repository's
    //! history, not by reading its fields back.

    use super::*;

    /// An image in a repository: its tags and how many days ago it was pushed.
    #[derive(Debug, Clone)]
    struct Image {
        name: &'static str,
        tags: Vec<&'static str>,
        age_days: i64,
    }

    /// The images `policy` expires, by ECR's rules: rules in priority order; each
    /// selects the images its tag selection matches that no higher rule matched; a
    /// count rule expires the oldest beyond the count, an age rule those older than it.
    fn expired(policy: &Value, images: &[Image]) -> Vec<&'static str> {
        let mut rules: Vec<&Value> = policy["rules"].as_array().unwrap().iter().collect();
        rules.sort_by_key(|r| r["rulePriority"].as_i64().unwrap());
        let mut matched = vec![false; images.len()];
        let mut out = Vec::new();
        for rule in rules {
            let selection = &rule["selection"];
            let strings = |key: &str| -> Vec<String> {
                selection[key]
                    .as_array()
                    .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
                    .unwrap_or_default()
            };
            let (prefixes, patterns) = (strings("tagPrefixList"), strings("tagPatternList"));
            let selects = |image: &Image| match selection["tagStatus"].as_str().unwrap() {
                "any" => true,
                "untagged" => image.tags.is_empty(),
                "tagged" => image.tags.iter().any(|tag| {
                    prefixes.iter().any(|p| tag.starts_with(p.as_str()))
                        || patterns.iter().any(|p| wildcard(p, tag))
                }),
                other => panic!("unknown tagStatus {other}"),
            };
            // Newest first, as ECR orders by push time.
            let mut candidates: Vec<usize> = (0..images.len())
                .filter(|&i| !matched[i] && selects(&images[i]))
                .collect();
            candidates.sort_by_key(|&i| images[i].age_days);
            for &i in &candidates {
                matched[i] = true;
            }
            let number = selection["countNumber"].as_i64().unwrap();
            let chosen: Vec<usize> = match selection["countType"].as_str().unwrap() {
                "imageCountMoreThan" => candidates.iter().copied().skip(number as usize).collect(),
                "sinceImagePushed" => {
                    assert_eq!(selection["countUnit"], "days");
                    candidates
                        .iter()
                        .copied()
                        .filter(|&i| images[i].age_days > number)
                        .collect()
                }
                other => panic!("unknown countType {other}"),
            };
            if rule["action"]["type"] == "expire" {
                out.extend(chosen.into_iter().map(|i| images[i].name));
            }
        }
        out
    }

    /// ECR's tagPatternList wildcard: `*` matches any run of characters.
    fn wildcard(pattern: &str, text: &str) -> bool {
        match pattern.split_once('*') {
            None => pattern == text,
            Some((head, rest)) => {
                let Some(tail) = text.strip_prefix(head) else {
                    return false;
                };
                (0..=tail.len()).any(|i| wildcard(rest, &tail[i..]))
            }
        }
    }

    /// A year of a busy repository: production deployed an image long ago and staging
    /// pushed 40 since, plus an untagged leftover and a fresh untagged push.
    fn history() -> Vec<Image> {
        let mut images = vec![
            Image {
                name: "production",
                tags: vec!["0123456789ab"],
                age_days: 300,
            },
            Image {
                name: "outside-git",
                tags: vec!["digest-abcdefabcdef"],
                age_days: 200,
            },
            Image {
                name: "re-run",
                tags: vec!["0123456789ab-fedcba987654"],
                age_days: 299,
            },
            Image {
                name: "old-untagged",
                tags: vec![],
                age_days: 30,
            },
            Image {
                name: "new-untagged",
                tags: vec![],
                age_days: 1,
            },
        ];
        for i in 0..40 {
            images.push(Image {
                name: "staging",
                tags: vec!["feedfeedfeed"],
                age_days: i,
            });
        }
        images
    }

    #[test]
    fn the_policy_never_expires_a_tagged_image_and_expires_old_untagged_ones() {
        let policy: Value = serde_json::from_str(&policy()).unwrap();
        let gone = expired(&policy, &history());
        assert_eq!(gone, vec!["old-untagged"]);
    }

    #[test]
    fn the_evaluator_knows_the_old_policy_expired_production() {
        // The old default against the same history: production's image goes. This
        // proves the evaluator can see the defect the new policy fixes.
        let gone = expired(&legacy_policy(), &history());
        assert!(gone.contains(&"production"), "{gone:?}");
    }

    #[test]
    fn higher_rules_shield_images_from_lower_ones() {
        let policy = json!({"rules": [
            {"rulePriority": 1, "selection": {"tagStatus": "tagged", "tagPatternList": ["prod-*"],
              "countType": "imageCountMoreThan", "countNumber": 100}, "action": {"type": "expire"}},
            {"rulePriority": 2, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
              "countNumber": 1}, "action": {"type": "expire"}},
        ]});
        let images = [
            Image {
                name: "p",
                tags: vec!["prod-1"],
                age_days: 9,
            },
            Image {
                name: "a",
                tags: vec!["x"],
                age_days: 2,
            },
            Image {
                name: "b",
                tags: vec![],
                age_days: 1,
            },
        ];
        assert_eq!(expired(&policy, &images), vec!["a"]);
    }

    #[test]
    fn an_existing_policy_is_replaced_only_when_it_is_our_old_default() {
        assert_eq!(judge(Some(&legacy_policy().to_string())), Verdict::Replace);
        // Same rules, other formatting and key order: still ours.
        let reformatted = r#"{ "rules": [ { "action": {"type":"expire"}, "rulePriority": 1,
            "selection": {"countNumber": 30, "countType": "imageCountMoreThan", "tagStatus": "any"},
            "description": "Keep the last 30 images" } ] }"#;
        assert_eq!(judge(Some(reformatted)), Verdict::Replace);
        assert_eq!(judge(Some(&policy())), Verdict::Keep);
        assert_eq!(judge(None), Verdict::Keep);
        let theirs = r#"{"rules":[{"rulePriority":5,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":100},"action":{"type":"expire"}}]}"#;
        match judge(Some(theirs)) {
            Verdict::Warn(why) => assert!(
                why.contains("rule 5") && why.contains("CannotPullContainerError"),
                "{why}"
            ),
            other => panic!("{other:?}"),
        }
    }
}
