#!/usr/bin/env bash
# Installs what the test suite needs and a fresh machine lacks. Idempotent and
# quick when everything is there already.
set -euo pipefail
cd "$(dirname "$0")/.."

# The aws CLI v2 (Debian's awscli package) for the CLI compatibility tests.
if [ ! -x /usr/bin/aws ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "deps: installing awscli (Debian package)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq awscli >/dev/null
  else
    echo "deps: /usr/bin/aws missing and cannot install it (not root); its tests will be skipped" >&2
  fi
fi

# bubblewrap (Debian's package) isolates function instances.
if ! command -v bwrap >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "deps: installing bubblewrap (Debian package)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null
  else
    echo "deps: bwrap missing and cannot install it (not root); the sandbox tests will fail" >&2
  fi
fi

# Debian's boto3: where pip cannot reach PyPI (as on our machines), the boto3
# that Python functions get comes from it (package internal/sdk).
if [ ! -d /usr/lib/python3/dist-packages/boto3 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "deps: installing python3-boto3 (Debian package)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-boto3 >/dev/null
  else
    echo "deps: python3-boto3 missing and cannot install it (not root); Python functions will lack boto3" >&2
  fi
fi

# npm packages for the end-to-end tests with the AWS SDK for JavaScript v3.
if [ -f e2e/js/package.json ]; then
  if [ ! -d e2e/js/node_modules ] || [ e2e/js/package-lock.json -nt e2e/js/node_modules ]; then
    echo "deps: npm ci in e2e/js"
    (cd e2e/js && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi

# The AWS SDKs that Lambda's runtimes ship, into Cloudlet's cache (once per
# machine; otherwise the first deploy that needs one installs it).
go run ./cmd/cloudlet sdk >/dev/null
