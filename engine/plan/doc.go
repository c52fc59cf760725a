// Package plan is the contract between the rules and the kernel side:
// a Plan says which event types the kernel traces, which opens, paths
// and arguments it may drop because no enabled rule can match them,
// whether exec records carry the environment, and what deny and kill
// rules enforce. The engine computes a Plan from a compiled rule set
// (engine.Ruleset.Plan); bpf.Probes.Apply carries one out in one call;
// Union widens two for a reload. It also holds the Go models of the
// kernel's filter and policy decisions, which the soundness and
// agreement tests check the kernel against. Standard library and
// engine/event only.
package plan
