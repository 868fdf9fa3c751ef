#!/usr/bin/env bash
# Installs everything the suite needs, then runs it: types, import rules, unit tests, integration tests
# (as root, with real runc, conmon, overlayfs and a registry on loopback), end-to-end tests (the built
# CLI: servers and agents as processes), then checks for leftovers.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh --test
npm run --silent typecheck
npm run --silent lint
npm run --silent test:unit
npm run --silent test:integration
npm run --silent test:e2e
node --import tsx scripts/check-leftovers.ts
