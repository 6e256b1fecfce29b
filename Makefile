# Entry points. Each one installs what it needs first.
.PHONY: test local bench deps

## Run every test and linter (what CI runs).
test:
	./scripts/test.sh

## Run the whole main job on this machine: local AWS + registry, build, dry run, deploy.
local:
	./scripts/local.sh

## Run the benchmarks and print the numbers recorded in BENCHMARKS.md.
bench:
	./scripts/bench.sh

## Install test dependencies only.
deps:
	./scripts/deps.sh
