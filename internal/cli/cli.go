package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/cloudlet/cloudlet/internal/server"
)

// Version is set at build time with -ldflags "-X github.com/cloudlet/cloudlet/internal/cli.Version=...".
var Version = "dev"

// exitError carries a process exit code through cobra.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// Main runs the command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	return 0
}

// clientFlags are shared by every command that talks to a running server.
type clientFlags struct {
	apiAddr   string
	region    string
	accessKey string
	secretKey string
}

func (c *clientFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.apiAddr, "api-addr", server.DefaultAPIAddr, "address of the running server's AWS API endpoint")
	cmd.Flags().StringVar(&c.region, "region", server.DefaultRegion, "region")
	cmd.Flags().StringVar(&c.accessKey, "access-key", envOr("AWS_ACCESS_KEY_ID", server.DefaultAccessKey), "admin access key ID")
	cmd.Flags().StringVar(&c.secretKey, "secret-key", envOr("AWS_SECRET_ACCESS_KEY", server.DefaultSecretKey), "admin secret access key")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "cloudlet",
		Short:         "A serverless cloud in one binary: runs serverless.yml projects locally",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newUp(), newServer(), newDeploy(), newInvoke(), newLogs(), newInfo(), newSDK(), newIAM(),
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Args:  cobra.NoArgs,
			Run: func(cmd *cobra.Command, _ []string) {
				fmt.Fprintln(cmd.OutOrStdout(), "cloudlet", Version)
			},
		},
	)
	return root
}
