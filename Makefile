# The one command that runs every test: make test
GO ?= go

.PHONY: test deps vet unit e2e bench fuzz build

test: deps vet unit

# Installs what the tests need on a fresh machine (aws CLI v2, npm packages).
deps:
	./scripts/deps.sh

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1)

unit:
	$(GO) test -race -count=1 -timeout 15m ./...

build:
	$(GO) build -o bin/cloudlet ./cmd/cloudlet

bench:
	$(GO) run ./bench

fuzz:
	./scripts/fuzz.sh 30s
