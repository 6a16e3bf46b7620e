#!/usr/bin/env bash
# install.sh makes the local control plane's binaries available outside the repo:
#   - kube-apiserver, built from k8s.io/kubernetes (this module) into the cache dir;
#   - etcd, from Debian's etcd-server package when no etcd is on PATH;
#   - gpg, chromium and promtool (Debian's gnupg, chromium and prometheus)
#     for the signed-commit, browser and alert-rule tests, when missing.
# It prints the directory to use as KUBEBUILDER_ASSETS on its last line.
# Re-running is cheap: a binary that is already in the cache is not rebuilt.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
k8s_version=v1.37.2
cache=${MESHINTENT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/meshintent}
assets="$cache/k8s-$k8s_version"
mkdir -p "$assets"

log() { echo "install.sh: $*" >&2; }

# debian_install installs Debian packages with apt-get, never starting the
# services they ship.
debian_install() {
  log "installing $* from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  # A package may start a system service (etcd-server, prometheus). The suite
  # runs its own etcd (own data dir, ports envtest checks are free) and must
  # never disable or kill a process or service it did not start: instead of
  # stopping the service afterwards, keep it from starting. A policy-rc.d
  # answering 101 ("action forbidden") is what Debian's maintainer scripts
  # (invoke-rc.d, deb-systemd-invoke) ask before starting a service. One
  # the machine already has is left alone: it is its owner's policy.
  local policy=/usr/sbin/policy-rc.d ours=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# install.sh (meshintent): no service starts during this install\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    ours=$policy
    trap 'rm -f "$ours"' EXIT
  fi
  if ! apt-get install -y -q "$@" >/dev/null 2>&1; then
    apt-get update -q >/dev/null
    apt-get install -y -q "$@" >/dev/null
  fi
  if [ -n "$ours" ]; then
    rm -f "$ours"
    trap - EXIT
  fi
}

# Debian packages the tests use, each only when its command is missing:
# etcd (the control plane), gpg (signed-commit tests), chromium (the web
# UI's browser test) and promtool (the alert rules' unit tests).
missing=()
if [ ! -x "$assets/etcd" ] && ! command -v etcd >/dev/null 2>&1; then missing+=(etcd-server); fi
command -v gpg >/dev/null 2>&1 || missing+=(gnupg)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
  debian_install "${missing[@]}"
fi

# etcd: Debian's, linked into the assets directory.
if [ ! -x "$assets/etcd" ]; then
  ln -sf "$(command -v etcd)" "$assets/etcd"
fi

# kubectl: the machine image has one; envtest only needs it for some helpers.
if [ ! -e "$assets/kubectl" ] && command -v kubectl >/dev/null 2>&1; then
  ln -sf "$(command -v kubectl)" "$assets/kubectl"
fi

# kube-apiserver: built once from Go modules.
if [ ! -x "$assets/kube-apiserver" ]; then
  log "building kube-apiserver $k8s_version from Go modules into $assets (one time; about 15 minutes cold on 2 cores)"
  start=$(date +%s)
  (cd "$here" && CGO_ENABLED=0 go build -trimpath -o "$assets/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
  mv "$assets/kube-apiserver.tmp" "$assets/kube-apiserver"
  log "built kube-apiserver in $(( $(date +%s) - start ))s"
fi

echo "$assets"
