#!/usr/bin/env bash
# CTest `npm_sdk` (docs/BROWSER.md, "npm package"): scripts/npm-pack.sh makes the tarball;
# a scratch project installs it (offline: the package has no dependencies); the typed
# example (resources/npm/example) compiles with tsc --strict against the installed package —
# as a bundler's ES module and under Node16 resolution, ESM and CommonJS — and tests/npm/
# check.mjs loads the installed package both ways and checks its declarations against it.
# tsc is tests/browser's (npm ci there); without it: skipped (77). Env: WORK_DIR.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
tsc=$src/tests/browser/node_modules/.bin/tsc
if ! command -v npm >/dev/null || [ ! -x "$tsc" ]; then
    echo "npm or tests/browser's tsc missing (npm ci in tests/browser): skipped"
    exit 77
fi
work=${WORK_DIR:?}
rm -rf "$work"
mkdir -p "$work/app"
tarball=$("$src/scripts/npm-pack.sh" "$work")
echo "packed: $(basename "$tarball") ($(tar tzf "$tarball" | tr '\n' ' '))"
# The tarball holds these files and nothing else; the SDK in it is byte for byte the served one.
listed=$(tar tzf "$tarball" | sort | tr '\n' ' ')
expected="package/LICENSE package/README.md package/lhttp.d.mts package/lhttp.d.ts package/lhttp.js package/lhttp.mjs package/package.json "
[ "$listed" = "$expected" ] || { echo "FAIL: the tarball holds $listed"; exit 1; }
mkdir -p "$work/unpacked"
tar xzf "$tarball" -C "$work/unpacked"
for f in lhttp.js lhttp.mjs; do
    cmp "$work/unpacked/package/$f" "$src/resources/web/$f" || { echo "FAIL: $f differs from the served one"; exit 1; }
done
echo "ok: the tarball holds the 7 files, lhttp.js and lhttp.mjs as the node serves them"
cd "$work/app"
printf '{ "name": "scratch", "private": true, "type": "module" }\n' >package.json
npm install --offline --no-audit --no-fund --silent "$tarball"
cp "$src/resources/npm/example/"* .
"$tsc" --version
"$tsc" -p tsconfig.json
echo "ok: chat.ts compiles (bundler resolution, ES module, --strict)"
"$tsc" -p tsconfig.node.json
echo "ok: chat.ts and require.cts compile (Node16 resolution, ESM and CommonJS, --strict)"
cp "$src/tests/npm/refuse.ts" .
printf '{ "extends": "./tsconfig.json", "files": ["refuse.ts"] }\n' >tsconfig.refuse.json
"$tsc" -p tsconfig.refuse.json
echo "ok: refuse.ts: every misuse is a type error"
# The types come from the installed package, not from the source folder.
"$tsc" -p tsconfig.json --traceResolution | grep -q "node_modules/lhttp-qt/lhttp.d.mts" ||
    { echo "FAIL: lhttp-qt's types were not resolved from node_modules"; exit 1; }
cp "$src/tests/npm/check.mjs" . # resolves lhttp-qt from this project
TYPESCRIPT=$src/tests/browser/node_modules/typescript node check.mjs
