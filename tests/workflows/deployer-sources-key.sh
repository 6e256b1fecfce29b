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
# cfn/github-oidc.yaml stays in: `deployer bootstrap` embeds it (include_str!).
set -euo pipefail
git ls-files -z -- . \
  ':(exclude,glob)**/*.md' ':(exclude).github' ':(exclude)tests' ':(exclude)scripts' \
  ':(exclude)tools' ':(exclude)cfn/app.yaml' ':(exclude)cfn/tests' ':(exclude)service' ':(exclude)xtask' \
  ':(exclude)alb-token/fuzz' ':(exclude)deploy.yaml' ':(exclude)package.json' \
  ':(exclude)package-lock.json' ':(exclude)Makefile' ':(exclude).ci' \
  | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64
