#!/usr/bin/env bash
# install.sh makes the local control plane's binaries available outside the repo:
#   - kube-apiserver, built from k8s.io/kubernetes (this module) into the cache dir;
#   - etcd, from Debian's etcd-server package when no etcd is on PATH.
# It prints the directory to use as KUBEBUILDER_ASSETS on its last line.
# Re-running is cheap: a binary that is already in the cache is not rebuilt.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
k8s_version=v1.37.2
cache=${MESHINTENT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/meshintent}
assets="$cache/k8s-$k8s_version"
mkdir -p "$assets"

log() { echo "install.sh: $*" >&2; }

# etcd: Debian's package when missing.
if [ ! -x "$assets/etcd" ]; then
  etcd_bin=$(command -v etcd || true)
  if [ -z "$etcd_bin" ]; then
    log "installing etcd from Debian's etcd-server package"
    export DEBIAN_FRONTEND=noninteractive
    # The package would start an etcd system service. The suite runs its own
    # etcd (own data dir, ports envtest checks are free) and must never stop,
    # disable or kill a process or service it did not start: instead of
    # stopping the service afterwards, keep it from starting. A policy-rc.d
    # answering 101 ("action forbidden") is what Debian's maintainer scripts
    # (invoke-rc.d, deb-systemd-invoke) ask before starting a service. One
    # the machine already has is left alone: it is its owner's policy.
    policy=/usr/sbin/policy-rc.d
    ours=""
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\n# install.sh (meshintent): no service starts during this install\nexit 101\n' >"$policy"
      chmod 755 "$policy"
      ours=$policy
      trap 'rm -f "$ours"' EXIT
    fi
    if ! apt-get install -y -q etcd-server >/dev/null 2>&1; then
      apt-get update -q >/dev/null
      apt-get install -y -q etcd-server >/dev/null
    fi
    if [ -n "$ours" ]; then
      rm -f "$ours"
      trap - EXIT
    fi
    etcd_bin=$(command -v etcd)
  fi
  ln -sf "$etcd_bin" "$assets/etcd"
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
