#!/usr/bin/env bash
# PLACEHOLDER (NAME=flows) for the helper NAME=deps's script of the same interface; the
# integrator takes theirs. Usage: image-epoch.sh CONTEXT DOCKERFILE
# Prints the SOURCE_DATE_EPOCH for the image: the time of the last commit that changed
# the build context (docs and workflows excluded) or the Dockerfile.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 CONTEXT DOCKERFILE" >&2
  exit 2
fi
epoch=$(git log -1 --format=%ct -- "$1" "$2" ':(exclude,glob)**/*.md' ':(exclude).github')
if [ -z "$epoch" ]; then epoch=$(git log -1 --format=%ct); fi
echo "$epoch"
