#!/usr/bin/env bash
# Prints one hash of everything that goes into the deployer binary, for the git work tree
# it runs in (the current directory). The cargo stand-in (tests/workflows/bin/cargo) uses
# it to know whether the build-deployer job's checkout holds exactly the sources the test
# session built its deployer from.
#
# Inputs: every tracked file except the paths below, which the deployer cannot depend on
# (it is built with `cargo build -p deployer`, whose dependency graph has no service/,
# xtask/ or fuzz crates). Excluding, not listing, keeps a new crate in the key by default.
# Contents are read from the working tree, so the key also covers uncommitted edits.
# cfn/ is out (templates are read at run time, from the checkout), except the files the
# deployer embeds: every `include_str!("…")` target under deployer/src stays in (e.g.
# cfn/github-oidc.yaml, which `deployer bootstrap` embeds).
set -euo pipefail
embedded=()
while IFS=: read -r file match; do
  rel=${match#include_str!(\"}
  rel=${rel%\")}
  embedded+=("$(realpath -m --relative-to=. "$(dirname "$file")/$rel")")
done < <(grep -roE 'include_str!\("[^"]+"\)' deployer/src || true)
{
  git ls-files -z -- . \
    ':(exclude,glob)**/*.md' ':(exclude).github' ':(exclude)tests' ':(exclude)scripts' \
    ':(exclude)tools' ':(exclude)cfn' ':(exclude)service' ':(exclude)xtask' \
    ':(exclude)alb-token/fuzz' ':(exclude)deploy.yaml' ':(exclude)package.json' \
    ':(exclude)package-lock.json' ':(exclude)Makefile' ':(exclude).ci'
  [ ${#embedded[@]} -eq 0 ] || printf '%s\0' "${embedded[@]}"
} | sort -z -u | xargs -0 sha256sum | sha256sum | cut -c1-64
