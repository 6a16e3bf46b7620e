package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/meshintent/meshintent/api/v1alpha1"
)

// This file holds sharding: a replica started with a watch label selector
// (`reconciler run --watch-label-selector`, Flux's spelling) reconciles only
// the IntentSyncs whose labels match it. Kubernetes does the split: the
// manager's cache holds only the matching IntentSyncs, so the sync, drift
// and report controllers and the webhook receiver, which all read
// IntentSyncs from that cache, never see another shard's. Each shard elects
// its own leader on a Lease named after its selector.

// ShardLabel is the label conventionally used to assign an IntentSync to a
// shard, as Flux's sharding.fluxcd.io/key: a shard runs with
// --watch-label-selector=sharding.meshintent.io/key=NAME and the main one
// with --watch-label-selector='!sharding.meshintent.io/key'.
const ShardLabel = "sharding.meshintent.io/key"

// shardSelector parses a watch label selector in the standard syntax
// (key=value, key!=value, key in (a,b), key, !key, joined with commas).
// An empty or all-space selector matches everything and returns nil.
func shardSelector(s string) (labels.Selector, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	sel, err := labels.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("watch label selector %q: %w", s, err)
	}
	if sel.Empty() {
		return nil, nil
	}
	return sel, nil
}

// ShardLeaderElectionID returns the name of the leader election Lease of
// the shard that watches the IntentSyncs matching selector: for no selector
// DefaultLeaderElectionID, otherwise DefaultLeaderElectionID, a dash and the
// first 10 hex digits of the SHA-256 of the selector's canonical form
// (requirements sorted by key, as labels.Parse prints them), e.g.
// "meshintent-reconciler-5b0c6d4a1e". Spellings of one selector that differ
// only in order or spaces share a Lease; two different selectors never do.
// An invalid selector is an error.
func ShardLeaderElectionID(selector string) (string, error) {
	sel, err := shardSelector(selector)
	if err != nil {
		return "", err
	}
	return shardLeaseName(sel), nil
}

// shardLeaseName is ShardLeaderElectionID for a parsed selector (nil: all).
func shardLeaseName(sel labels.Selector) string {
	if sel == nil {
		return DefaultLeaderElectionID
	}
	sum := sha256.Sum256([]byte(sel.String()))
	return DefaultLeaderElectionID + "-" + hex.EncodeToString(sum[:])[:10]
}

// shardCache restricts the cache's IntentSyncs to those matching sel (nil
// leaves them all). The managed objects stay watched in full: their drift
// events are mapped back to IntentSyncs this replica has reconciled only
// (mapManaged), and ownership checks must see every shard's labels.
func shardCache(opts *cache.Options, sel labels.Selector) {
	if sel == nil {
		return
	}
	if opts.ByObject == nil {
		opts.ByObject = map[client.Object]cache.ByObject{}
	}
	opts.ByObject[&v1alpha1.IntentSync{}] = cache.ByObject{Label: sel}
}
