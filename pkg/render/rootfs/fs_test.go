package rootfs

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/meshintent/meshintent/internal/gitfixture"
)

func TestFS(t *testing.T) {
	outside := t.TempDir()
	gitfixture.WriteFile(t, filepath.Join(outside, "secret"), []byte("s3cret"))
	root := t.TempDir()
	files := map[string]string{
		"policies/a.rego":  "package a\n",
		"shared/lib.rego":  "package lib\n",
		"policies/big.txt": strings.Repeat("x", 2000),
	}
	gitfixture.WriteTree(t, root, files)
	links := map[string]string{
		"policies/lib.rego":    "../shared/lib.rego",
		"policies/passwd.rego": "/etc/passwd",
		"policies/secret":      filepath.Join(outside, "secret"),
		"policies/up":          "..",
		"policies/loop1":       "loop2",
		"policies/loop2":       "loop1",
		"outdir":               outside,
		// As pkg/source leaves a committed link that leads out.
		"policies/committed": EscapingLinkPrefix + "%2Fetc%2Fshadow",
	}
	for link, target := range links {
		gitfixture.Symlink(t, filepath.Join(root, filepath.FromSlash(link)), target)
	}
	rfs, err := New(root, "policies", 1024)
	if err != nil {
		t.Fatal(err)
	}
	rootFS, err := New(root, ".", 1024)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		fsys    *FS
		file    string
		want    string // content, when no error is wanted
		wantErr string
	}{
		{name: "a file is read", fsys: rfs, file: "a.rego", want: "package a\n"},
		{name: "a link inside the root is followed", fsys: rfs, file: "lib.rego", want: "package lib\n"},
		{name: "a link to the parent directory that stays inside is followed", fsys: rfs, file: "up/shared/lib.rego", want: "package lib\n"},
		{name: "a link to /etc/passwd is refused naming it", fsys: rfs, file: "passwd.rego",
			wantErr: "read policies/passwd.rego: a symlink leads outside the repository: it leads to /etc/passwd"},
		{name: "a link to a file outside is refused", fsys: rfs, file: "secret",
			wantErr: "read policies/secret: a symlink leads outside the repository: it leads to " + filepath.Join(outside, "secret")},
		{name: "a directory link outside is refused naming the link, not the file", fsys: rootFS, file: "outdir/secret",
			wantErr: "read outdir: a symlink leads outside the repository"},
		{name: "a loop is refused", fsys: rfs, file: "loop1", wantErr: "read policies/loop1: a symlink loop"},
		{name: "a committed link pkg/source neutralised is refused with its target", fsys: rfs, file: "committed",
			wantErr: `policies/committed: a symlink leads outside the repository (committed as a link to "/etc/shadow")`},
		{name: "a file over the limit is refused", fsys: rfs, file: "big.txt",
			wantErr: "read policies/big.txt: the file is 2000 bytes, more than the limit of 1024 bytes"},
		{name: "a path with .. is invalid", fsys: rfs, file: "../shared/lib.rego", wantErr: "invalid argument"},
		{name: "a missing file is fs.ErrNotExist", fsys: rfs, file: "nope.rego", wantErr: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.fsys.ReadFile(tt.file)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("the error shows the content of the file outside: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("read %q, want %q", b, tt.want)
			}
		})
	}
	t.Run("a missing file is fs.ErrNotExist for errors.Is", func(t *testing.T) {
		if _, err := rfs.Stat("nope.rego"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error %v is not fs.ErrNotExist", err)
		}
	})
	t.Run("it passes the io/fs conformance test on a tree without bad links", func(t *testing.T) {
		clean, err := New(root, "shared", 1024)
		if err != nil {
			t.Fatal(err)
		}
		if err := fstest.TestFS(clean, "lib.rego"); err != nil {
			t.Fatal(err)
		}
	})
}
