package output

import (
	"io"
	"sort"

	"github.com/meshintent/meshintent/pkg/validate"
)

// SARIFSchema is the $schema written in SARIF logs.
const SARIFSchema = "https://json.schemastore.org/sarif-2.1.0.json"

// SARIF 2.1.0, the subset code scanning reads.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string        `json:"id"`
	Name                 string        `json:"name"`
	ShortDescription     sarifText     `json:"shortDescription"`
	FullDescription      *sarifText    `json:"fullDescription,omitempty"`
	DefaultConfiguration sarifRuleConf `json:"defaultConfiguration"`
}

type sarifRuleConf struct {
	Level string `json:"level"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID           string            `json:"ruleId"`
	RuleIndex        int               `json:"ruleIndex"`
	Level            string            `json:"level"`
	Kind             string            `json:"kind,omitempty"`
	Message          sarifText         `json:"message"`
	Locations        []sarifLocation   `json:"locations,omitempty"`
	RelatedLocations []sarifLocation   `json:"relatedLocations,omitempty"`
	Suppressions     []sarifSuppress   `json:"suppressions,omitempty"`
	Properties       map[string]string `json:"properties,omitempty"`
}

// sarifSuppress is a SARIF suppression: kind "external" (the exception
// is written in meshintent.yaml or a policy, not at the result's
// location), status "accepted", and the exception's reason and author as
// the justification.
type sarifSuppress struct {
	Kind          string `json:"kind"`
	Status        string `json:"status,omitempty"`
	Justification string `json:"justification,omitempty"`
}

type sarifLocation struct {
	ID               *int           `json:"id,omitempty"`
	PhysicalLocation sarifPhysical  `json:"physicalLocation"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
	Message          *sarifText     `json:"message,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogical struct {
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind,omitempty"`
}

// writeSARIF writes a SARIF 2.1.0 log with one run: one rule per policy
// (every built-in policy and every policy with a result, described by
// opts.Descriptions) and one result per policy result, located at the
// intent line that produced the field, with the overlay patches that set
// it as related locations. Denials are errors, warnings warnings; other
// results (waived) are notes with an external, accepted suppression whose
// justification is the waiver (code scanning shows them as dismissed).
func writeSARIF(w io.Writer, rs []validate.Result, opts Options) error {
	names := policyNames(rs)
	for p := range opts.Descriptions {
		names = append(names, p)
	}
	names = uniqueSorted(names)
	index := make(map[string]int, len(names))
	levels := map[string]string{}
	for _, r := range rs {
		if levelOf(r) == levelDeny || levels[r.Policy] == "" {
			levels[r.Policy] = sarifLevel(r)
		}
	}
	rules := make([]sarifRule, len(names))
	for i, n := range names {
		index[n] = i
		d := opts.Descriptions[n]
		rule := sarifRule{ID: n, Name: n, ShortDescription: sarifText{Text: "Policy " + n}, DefaultConfiguration: sarifRuleConf{Level: "error"}}
		if d != "" {
			rule.ShortDescription = sarifText{Text: firstSentence(d)}
			rule.FullDescription = &sarifText{Text: d}
		}
		if l := levels[n]; l != "" && l != "note" {
			rule.DefaultConfiguration.Level = l
		}
		rules[i] = rule
	}
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name: "meshintent", Version: opts.ToolVersion,
			InformationURI: "https://github.com/meshintent/meshintent", Rules: rules,
		}},
		Results: make([]sarifResult, 0, len(rs)),
	}
	for _, r := range rs {
		res := sarifResult{
			RuleID: r.Policy, RuleIndex: index[r.Policy], Level: sarifLevel(r),
			Message:    sarifText{Text: r.Message},
			Properties: map[string]string{"object": r.Object, "rule": r.Rule},
		}
		if r.Field != "" {
			res.Properties["field"] = r.Field
		}
		if levelOf(r) == levelNote {
			sup := sarifSuppress{Kind: "external"}
			if r.Waived != nil {
				sup.Status, sup.Justification = "accepted", waiverText(r)
			}
			res.Suppressions = []sarifSuppress{sup}
		}
		logical := []sarifLogical{{FullyQualifiedName: r.Object, Kind: "object"}}
		for i, l := range Locations(r) {
			loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: prefixed(opts.PathPrefix, l.File)}}}
			if l.Line > 0 {
				loc.PhysicalLocation.Region = &sarifRegion{StartLine: l.Line}
			}
			if i == 0 {
				loc.LogicalLocations = logical
				res.Locations = append(res.Locations, loc)
				continue
			}
			id := i
			loc.ID = &id
			loc.Message = &sarifText{Text: "the value is set here by an overlay"}
			res.RelatedLocations = append(res.RelatedLocations, loc)
		}
		run.Results = append(run.Results, res)
	}
	return writeJSON(w, sarifLog{Schema: SARIFSchema, Version: "2.1.0", Runs: []sarifRun{run}})
}

func sarifLevel(r validate.Result) string {
	switch levelOf(r) {
	case levelDeny:
		return "error"
	case levelWarn:
		return "warning"
	}
	return "note"
}

func uniqueSorted(s []string) []string {
	seen := map[string]bool{}
	out := s[:0]
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}
