package policies

import (
	"fmt"
	"io/fs"

	"sigs.k8s.io/yaml"
)

// DefaultSeverities returns the built-in severity of each policy that reads
// one (meshintent.config.severity in data.yaml), by policy name: "deny",
// "warn" or "off".
func DefaultSeverities() (map[string]string, error) {
	raw, err := fs.ReadFile(FS, "data.yaml")
	if err != nil {
		return nil, fmt.Errorf("reading the built-in policy data: %w", err)
	}
	var doc struct {
		Meshintent struct {
			Config struct {
				Severity map[string]string `json:"severity"`
			} `json:"config"`
		} `json:"meshintent"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("reading the built-in policy data: %w", err)
	}
	return doc.Meshintent.Config.Severity, nil
}
