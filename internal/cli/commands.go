package cli

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/cloudlet/cloudlet/internal/sdk"
	"github.com/spf13/cobra"

	"github.com/cloudlet/cloudlet/internal/server"
)

func newDeploy() *cobra.Command {
	var cf clientFlags
	var dir, stage string
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Deploy the project in --dir to a running server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			abs, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			c := cf.client()
			start := time.Now()
			resp, err := c.admin(cmd.Context(), http.MethodPost, server.AdminDeployPath, server.DeployRequest{Dir: abs, Stage: stage})
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			var d server.Deployment
			if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
				return fmt.Errorf("read deploy result: %w", err)
			}
			info, err := c.info(cmd.Context())
			gw := ""
			if err == nil {
				gw = info.GatewayURL
			}
			printDeployment(cmd.OutOrStdout(), &d, gw, time.Since(start))
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&dir, "dir", ".", "project folder (with serverless.yml)")
	cmd.Flags().StringVar(&stage, "stage", "", "stage (default: provider.stage or dev)")
	return cmd
}

func newInvoke() *cobra.Command {
	var cf clientFlags
	var fn, data, path, sched string
	var async, tail bool
	cmd := &cobra.Command{
		Use:   "invoke -f NAME [-d JSON] | invoke --schedule NAME",
		Short: "Invoke a function and print its result, or fire one of its schedules now",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if sched != "" {
				c := cf.client()
				name := sched
				if !strings.Contains(name, "-rule-") {
					name = c.resolve(cmd.Context(), name) // a function's key or full name
				}
				resp, err := c.admin(cmd.Context(), http.MethodPost, server.AdminSchedulePath, map[string]string{"schedule": name})
				if err != nil {
					return err
				}
				resp.Body.Close()
				fmt.Fprintf(cmd.OutOrStdout(), "Fired %s (its event is queued as an asynchronous invocation)\n", sched)
				return nil
			}
			if fn == "" {
				return errors.New("-f NAME (or --schedule NAME) is required")
			}
			payload := []byte(data)
			if path != "" {
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				payload = b
			}
			if len(payload) == 0 {
				payload = []byte("{}")
			}
			if !json.Valid(payload) {
				return errors.New("the payload (-d or -p) is not valid JSON")
			}
			c := cf.client()
			in := &lambda.InvokeInput{FunctionName: aws.String(c.resolve(cmd.Context(), fn)), Payload: payload}
			if async {
				in.InvocationType = types.InvocationTypeEvent
			}
			if tail {
				in.LogType = types.LogTypeTail
			}
			out, err := c.lambda().Invoke(cmd.Context(), in)
			if err != nil {
				return c.sdkError(err)
			}
			if tail && out.LogResult != nil {
				if logs, err := base64.StdEncoding.DecodeString(*out.LogResult); err == nil {
					cmd.ErrOrStderr().Write(logs)
				}
			}
			if async {
				fmt.Fprintf(cmd.OutOrStdout(), "Accepted (status %d)\n", out.StatusCode)
				return nil
			}
			w := cmd.OutOrStdout()
			w.Write(out.Payload)
			fmt.Fprintln(w)
			if out.FunctionError != nil {
				return exitError{code: 1}
			}
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVarP(&fn, "function", "f", "", "function: its name in serverless.yml or its full name")
	cmd.Flags().StringVarP(&data, "data", "d", "", "event JSON")
	cmd.Flags().StringVarP(&path, "path", "p", "", "file with the event JSON")
	cmd.Flags().BoolVar(&async, "async", false, "invoke asynchronously (InvocationType Event)")
	cmd.Flags().BoolVarP(&tail, "log", "l", false, "print the invocation's log tail to stderr")
	cmd.Flags().StringVar(&sched, "schedule", "", "fire a schedule now: its rule name, or a function (its first schedule)")
	return cmd
}

func newLogs() *cobra.Command {
	var cf clientFlags
	var fn string
	var follow bool
	var lines int
	cmd := &cobra.Command{
		Use:   "logs -f NAME [--tail]",
		Short: "Print a function's logs; --tail keeps streaming new lines",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if fn == "" {
				return errors.New("-f NAME is required")
			}
			c := cf.client()
			q := url.Values{"function": {c.resolve(cmd.Context(), fn)}}
			if follow {
				q.Set("follow", "1")
			}
			if lines > 0 {
				q.Set("tail", strconv.Itoa(lines))
			}
			resp, err := c.admin(cmd.Context(), http.MethodGet, server.AdminLogsPath+"?"+q.Encode(), nil)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if gone := resp.Header.Get(server.LogsGoneHeader); gone != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "(%s older lines of this function are no longer kept: rotated away, or past its logRetentionInDays)\n", gone)
			}
			r := bufio.NewReaderSize(resp.Body, 64*1024)
			_, err = io.Copy(cmd.OutOrStdout(), r)
			if cmd.Context().Err() != nil {
				return nil
			}
			return err
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVarP(&fn, "function", "f", "", "function: its name in serverless.yml or its full name")
	cmd.Flags().BoolVarP(&follow, "tail", "t", false, "keep streaming new log lines")
	cmd.Flags().IntVarP(&lines, "lines", "n", 0, "print only the last N lines first (0: all kept)")
	return cmd
}

func newInfo() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Show the running server's endpoints and deployed functions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info, err := cf.client().info(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "gateway:   %s\nAWS API:   %s\nregion:    %s\ninstances: %d\n", info.GatewayURL, info.APIURL, info.Region, info.Instances)
			if d := info.Deployment; d != nil {
				fmt.Fprintf(out, "service:   %s\nstage:     %s\nfunctions:\n", d.Service, d.Stage)
				for _, fn := range d.Functions {
					fmt.Fprintf(out, "  %s: %s\n", fn.Key, fn.Name)
					for _, r := range fn.Routes {
						fmt.Fprintf(out, "    %s\n", r)
					}
				}
			} else {
				fmt.Fprintln(out, "nothing deployed")
			}
			return nil
		},
	}
	cf.register(cmd)
	return cmd
}

// newSDK installs the runtime SDKs now rather than at the first deploy that
// needs them (for an image build, or a CI cache step).
func newSDK() *cobra.Command {
	return &cobra.Command{
		Use:   "sdk",
		Short: "Install the AWS SDKs that Lambda's runtimes ship into Cloudlet's cache (otherwise done at the first deploy)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := sdk.NewCache("", slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)))
			failed := 0
			for _, kit := range []string{sdk.NodeV3, sdk.NodeV2, sdk.Python} {
				dir, err := c.Ensure(kit)
				if err != nil {
					failed++
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", sdk.Describe(kit), err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", sdk.Describe(kit), dir)
			}
			if failed > 0 {
				return fmt.Errorf("%d of 3 SDKs could not be installed", failed)
			}
			return nil
		},
	}
}
