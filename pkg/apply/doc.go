// Package apply puts a rendered manifest.Set onto a cluster with server-side
// apply, records what it applied in an inventory, prunes what left Git, and
// reports drift between Git and the cluster.
//
// The API follows fluxcd/pkg/ssa's ResourceManager (a Manager, options
// structs with defaults, results as plain data in a ChangeSet) but is built
// on controller-runtime's client directly rather than on that library,
// because three things meshintent needs work differently there:
//   - ssa.ResourceManager always applies with force ownership; meshintent must
//     report a conflict with another field manager and take fields over only
//     when asked (ApplyOptions.Force);
//   - ssa.ApplyAll stops at the first object that fails its dry-run;
//     meshintent dry-runs the whole set and reports every failure with the
//     Git file it came from before writing anything (DryRunError);
//   - Namespaces are shared with other owners: meshintent applies only its
//     own labels and annotations to them and, on prune, removes those labels
//     instead of deleting the Namespace.
//
// The client given to NewManager must read from the API server, not from an
// informer cache, so that comparisons see the live objects.
package apply
