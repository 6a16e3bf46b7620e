#!/usr/bin/env bash
# controller-gen.sh builds controller-gen from the pinned module in
# test/tools/controller-gen into the cache (once) and prints its path.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
version=$(cd "$here/test/tools/controller-gen" && go list -m -f '{{.Version}}' sigs.k8s.io/controller-tools)
cache=${MESHINTENT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/meshintent}
bin="$cache/controller-gen-$version"
if [ ! -x "$bin" ]; then
  echo "controller-gen.sh: building controller-gen $version into $cache (one time)" >&2
  mkdir -p "$cache"
  (cd "$here/test/tools/controller-gen" && go build -o "$bin.tmp" sigs.k8s.io/controller-tools/cmd/controller-gen)
  mv "$bin.tmp" "$bin"
fi
echo "$bin"
