#!/usr/bin/env bash
# Install Debian packages (apt-get update first); used by the Makefile only when a tool is missing.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
echo "Installing with apt-get: $*"
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "$@"
