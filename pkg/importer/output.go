package importer

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// KustomizationFile is the file WriteDir lists the intents in.
const KustomizationFile = "kustomization.yaml"

// YAML returns the service's intent as a YAML document (keys sorted) under
// comments naming the live objects it came from and the service's notes.
// It is an error to call it on a skipped Service.
func (s *Service) YAML() ([]byte, error) {
	if s.Skipped || s.Document == nil {
		return nil, fmt.Errorf("service %s was not imported", s.Name)
	}
	b, err := yaml.Marshal(s.Document)
	if err != nil {
		return nil, fmt.Errorf("service %s: encoding YAML: %w", s.Name, err)
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# Imported by `reconciler import` from %s.\n", strings.Join(s.Objects, ", "))
	for _, n := range s.Notes {
		n.Service = "" // the file is about the service
		comment(&buf, "note: "+n.String())
	}
	buf.Write(b)
	return buf.Bytes(), nil
}

// comment writes text as YAML comment lines.
func comment(buf *bytes.Buffer, text string) {
	for _, line := range strings.Split(text, "\n") {
		buf.WriteString(strings.TrimRight("# "+line, " "))
		buf.WriteString("\n")
	}
}

// YAML returns the imported intents as one multi-document YAML stream, in
// the order of Services, each document with its comments (see
// Service.YAML). Skipped services are left out; with none imported the
// stream is empty.
func (r *Result) YAML() ([]byte, error) {
	var buf bytes.Buffer
	for i, s := range r.Imported() {
		b, err := s.YAML()
		if err != nil {
			return nil, err
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// WriteDir writes each imported intent to dir/<service>.yaml and a
// kustomization.yaml listing them (replacing one that is there), creating
// dir when needed, and returns the paths written in order. With nothing
// imported it writes nothing.
func (r *Result) WriteDir(dir string) ([]string, error) {
	imported := r.Imported()
	if len(imported) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	var paths []string
	var kust bytes.Buffer
	fmt.Fprintf(&kust, "# Written by `reconciler import --namespace %s`.\n", r.Namespace)
	kust.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
	for _, s := range imported {
		b, err := s.YAML()
		if err != nil {
			return paths, err
		}
		name := s.Name + ".yaml"
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return paths, fmt.Errorf("writing %s: %w", path, err)
		}
		paths = append(paths, path)
		fmt.Fprintf(&kust, "- %s\n", name)
	}
	path := filepath.Join(dir, KustomizationFile)
	if err := os.WriteFile(path, kust.Bytes(), 0o644); err != nil {
		return paths, fmt.Errorf("writing %s: %w", path, err)
	}
	return append(paths, path), nil
}
