#!/usr/bin/env bash
# Builds lhttp-goclient (main.go) offline against Debian's packages: golang-go and
# golang-github-gorilla-websocket-dev, which installs gorilla/websocket's source under
# /usr/share/gocode. GOPATH mode (GO111MODULE=off) resolves the import there; GOPROXY=off
# and GOFLAGS= make sure nothing is fetched from anywhere.
#
# Usage: app/bench/goclient/build.sh [OUTPUT]   (default: build/goclient/lhttp-goclient)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../../build/goclient/lhttp-goclient}
case "$out" in /*) ;; *) out=$PWD/$out ;; esac
gocode=${LHTTP_GOCODE:-/usr/share/gocode}
if ! command -v go >/dev/null || [ ! -d "$gocode/src/github.com/gorilla/websocket" ]; then
    echo "goclient/build.sh: needs go and gorilla/websocket (apt-get install golang-go golang-github-gorilla-websocket-dev)" >&2
    exit 2
fi
mkdir -p "$(dirname "$out")"
cd "$here"
GO111MODULE=off GOPATH="$gocode" GOFLAGS= GOPROXY=off GOCACHE="${GOCACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/go-build}" \
    go build -o "$out" .
echo "built $out"
