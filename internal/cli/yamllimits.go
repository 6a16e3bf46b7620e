package cli

import (
	"github.com/spf13/pflag"

	"github.com/meshintent/meshintent/pkg/render"
	"github.com/meshintent/meshintent/pkg/yamlguard"
)

// yamlLimitFlags are the limits on the YAML a render reads (see
// yamlguard.Limits); the defaults are yamlguard's.
type yamlLimitFlags struct {
	fileSize, renderSize sizeValue
	depth                int
	nodes, aliasNodes    int64
	documents            int64
}

func (y *yamlLimitFlags) register(fs *pflag.FlagSet) {
	d := yamlguard.DefaultLimits()
	y.fileSize, y.renderSize = sizeValue(d.MaxFileSize), sizeValue(d.MaxTotalSize)
	fs.Var(&y.fileSize, "max-file-size", "largest YAML file a render reads (bytes, or with Ki, Mi, Gi)")
	fs.Var(&y.renderSize, "max-render-size", "most YAML a render reads over all its files, alias expansion's text included (bytes, or with Ki, Mi, Gi)")
	fs.IntVar(&y.depth, "max-yaml-depth", d.MaxDepth, "how deeply YAML maps and lists may nest, aliases expanded")
	fs.Int64Var(&y.nodes, "max-yaml-nodes", d.MaxNodes, "most YAML nodes a render reads, as written")
	fs.Int64Var(&y.aliasNodes, "max-yaml-alias-nodes", d.MaxAliasNodes, "most YAML nodes that expanding aliases and merge keys may add in a render")
	fs.Int64Var(&y.documents, "max-yaml-documents", d.MaxDocuments, "most YAML documents a render reads")
}

// limits are the flags' limits.
func (y *yamlLimitFlags) limits() render.Limits {
	return render.Limits{
		MaxFileSize: int64(y.fileSize), MaxTotalSize: int64(y.renderSize), MaxDepth: y.depth,
		MaxNodes: y.nodes, MaxAliasNodes: y.aliasNodes, MaxDocuments: y.documents,
	}
}

// sizeValue is a byte count flag that takes "4Mi" as well as "4194304".
type sizeValue int64

func (s *sizeValue) String() string { return yamlguard.FormatBytes(int64(*s)) }
func (s *sizeValue) Type() string   { return "size" }

func (s *sizeValue) Set(v string) error {
	n, err := yamlguard.ParseSize(v)
	if err != nil {
		return err
	}
	*s = sizeValue(n)
	return nil
}
