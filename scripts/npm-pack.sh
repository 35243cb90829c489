#!/usr/bin/env bash
# The browser SDK as an npm package (docs/BROWSER.md, "npm package"): stages
# resources/web/lhttp.js and lhttp.mjs — the very files the node serves — with
# resources/npm/ (package.json, README, TypeScript declarations) and LICENSE, checks that the
# package's version is the SDK's (Lhttp.version), and runs `npm pack` there.
#   scripts/npm-pack.sh [OUTDIR]   writes OUTDIR/lhttp-qt-VERSION.tgz (default build/npm) and
#                                  prints its path
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/npm}
mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp resources/web/lhttp.js resources/web/lhttp.mjs "$stage/"
cp resources/npm/package.json resources/npm/README.md resources/npm/lhttp.d.ts resources/npm/lhttp.d.mts "$stage/"
cp LICENSE "$stage/"
sdk=$(node -e 'console.log(require(process.argv[1]).version)' "$stage/lhttp.js")
pkg=$(node -e 'console.log(require(process.argv[1]).version)' "$stage/package.json")
if [ "$sdk" != "$pkg" ]; then
    echo "npm-pack.sh: resources/npm/package.json has version $pkg, lhttp.js says $sdk" >&2
    exit 1
fi
file=$(cd "$stage" && npm pack --silent --pack-destination "$out")
echo "$out/$file"
