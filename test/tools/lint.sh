#!/usr/bin/env bash
# lint.sh runs the project's linters over the main module (make lint):
#   go vet, gofmt, staticcheck and golangci-lint (configured by .golangci.yml).
# staticcheck and golangci-lint are built once from the versions pinned in
# test/tools/lint/go.mod into the cache outside the repo; re-running is cheap.
# With --install it only builds them and prints the directory they are in.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${MESHINTENT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/meshintent}

log() { echo "lint.sh: $*" >&2; }

# build MODULE_PATH CMD_PACKAGE NAME: prints the path of the cached binary,
# building it first when the pinned version is not in the cache yet.
build() {
  local module=$1 pkg=$2 name=$3 version bin start
  version=$(cd "$here/lint" && go list -m -f '{{.Version}}' "$module")
  bin="$cache/$name-$version"
  if [ ! -x "$bin" ]; then
    log "building $name $version into $cache (one time; several minutes cold on 2 cores)"
    mkdir -p "$cache"
    start=$(date +%s)
    (cd "$here/lint" && CGO_ENABLED=0 go build -trimpath -o "$bin.tmp" "$pkg")
    mv "$bin.tmp" "$bin"
    log "built $name in $(( $(date +%s) - start ))s"
  fi
  echo "$bin"
}

staticcheck=$(build honnef.co/go/tools honnef.co/go/tools/cmd/staticcheck staticcheck)
golangci=$(build github.com/golangci/golangci-lint/v2 github.com/golangci/golangci-lint/v2/cmd/golangci-lint golangci-lint)
if [ "${1:-}" = "--install" ]; then
  echo "$staticcheck"
  echo "$golangci"
  exit 0
fi

cd "$root"
status=0
run() {
  log "$*"
  "$@" || status=1
}
run go vet ./...
unformatted=$(gofmt -l $(git ls-files --cached --others --exclude-standard '*.go'))
if [ -n "$unformatted" ]; then
  log "gofmt needed:"
  echo "$unformatted" >&2
  status=1
fi
run "$staticcheck" ./...
# golangci-lint keeps its analysis cache beside the binaries, not in the repo.
run env GOLANGCI_LINT_CACHE="$cache/golangci-lint-cache" "$golangci" run ./...
exit $status
