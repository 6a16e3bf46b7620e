package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/meshintent/meshintent/pkg/source"
)

// verifyFlags are --verify-keys and --verify-mode: with --repo, only a
// commit (or tag) signed by a trusted key is rendered.
type verifyFlags struct {
	// keys are files of trusted keys.
	keys []string
	// mode is HEAD, Tag or TagAndHEAD.
	mode string
}

func (v *verifyFlags) register(fs *pflag.FlagSet) {
	fs.StringSliceVar(&v.keys, "verify-keys", nil, "with --repo: files of trusted keys (repeatable or comma-separated), ASCII-armored OpenPGP public keys or SSH allowed_signers; the fetched commit must carry a good signature by one of them, else exit 2")
	fs.StringVar(&v.mode, "verify-mode", string(source.VerifyHEAD), "with --verify-keys: what must be signed, HEAD (the commit), Tag (the annotated tag --ref names) or TagAndHEAD")
}

// check refuses --verify-keys without --repo: only fetched revisions are
// verified.
func (v *verifyFlags) check(repo string) error {
	if len(v.keys) > 0 && repo == "" {
		return usageError(errors.New("--verify-keys verifies fetched revisions: use it with --repo"))
	}
	return nil
}

// options reads the trusted keys; nil when --verify-keys is not given.
func (v *verifyFlags) options() (*source.VerifyOptions, error) {
	if len(v.keys) == 0 {
		return nil, nil
	}
	mode, err := source.ParseVerifyMode(v.mode)
	if err != nil {
		return nil, usageError(fmt.Errorf("--verify-mode: %w", err))
	}
	files := make([]source.KeyFile, 0, len(v.keys))
	for _, name := range v.keys {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("reading --verify-keys: %w", err)
		}
		files = append(files, source.KeyFile{Name: name, Data: data})
	}
	keys, err := source.ParseKeyRing(files...)
	if err != nil {
		return nil, fmt.Errorf("--verify-keys: %w", err)
	}
	return &source.VerifyOptions{Mode: mode, Keys: keys}, nil
}

// verifyFetched checks the signatures of art, fetched with opts, when
// --verify-keys is given. A refused signature is one line naming the
// commit or tag and the signer found.
func (v *verifyFlags) verifyFetched(ctx context.Context, fetcher *source.Fetcher, opts source.Options, art *source.Artifact) error {
	vopts, err := v.options()
	if err != nil || vopts == nil {
		return err
	}
	if _, err := fetcher.Verify(ctx, opts, art, *vopts); err != nil {
		return fmt.Errorf("verification failed: %w", err)
	}
	return nil
}
