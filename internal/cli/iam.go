package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/cloudlet/cloudlet/internal/iam"
	"github.com/cloudlet/cloudlet/internal/server"
)

func newIAM() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "iam",
		Short: "See what functions were denied, and the least-privilege statements for what they did",
	}
	cmd.AddCommand(newIAMReport(), newIAMSuggest())
	return cmd
}

func (c *client) iamReport(cmd *cobra.Command, fn string) (*server.IAMReport, error) {
	q := url.Values{}
	if fn != "" {
		q.Set("function", c.resolve(cmd.Context(), fn))
	}
	resp, err := c.admin(cmd.Context(), http.MethodGet, server.AdminIAMPath+"?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var rep server.IAMReport
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		return nil, fmt.Errorf("read the IAM report: %w", err)
	}
	return &rep, nil
}

func newIAMReport() *cobra.Command {
	var cf clientFlags
	var fn string
	cmd := &cobra.Command{
		Use:   "report [-f NAME]",
		Short: "Print the calls IAM denied (or, in soft mode, would have denied)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := cf.client().iamReport(cmd, fn)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "IAM mode %s: %d calls allowed, %d denied, %d denied but let through (soft)\n", rep.Mode, rep.Allowed, rep.Denied, rep.SoftDenied)
			n := 0
			for _, d := range rep.Decisions {
				if d.Allowed {
					continue
				}
				n++
				what := "denied"
				if d.Soft {
					what = "would deny"
				}
				why := "no statement allows it"
				if d.Explicit {
					why = "explicit deny: " + d.Statement
				}
				fmt.Fprintf(out, "%s  %s  %s %s on %s (%s)\n", d.Time.UTC().Format("2006-01-02T15:04:05Z"), what, principalName(d), d.Action, d.Resource, why)
			}
			if n == 0 {
				fmt.Fprintln(out, "no denials recorded")
			}
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVarP(&fn, "function", "f", "", "only this function (its name in serverless.yml or its full name)")
	return cmd
}

func principalName(d server.IAMDecision) string {
	if d.Function != "" {
		return d.Function
	}
	return d.Principal
}

func newIAMSuggest() *cobra.Command {
	var cf clientFlags
	var fn string
	var missing bool
	cmd := &cobra.Command{
		Use:   "suggest -f NAME [--missing]",
		Short: "Print the least-privilege statements that allow exactly what a function did, as YAML for serverless.yml",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if fn == "" {
				return errors.New("-f NAME is required")
			}
			rep, err := cf.client().iamReport(cmd, fn)
			if err != nil {
				return err
			}
			ss := rep.Suggestions
			if missing {
				ss = ss[:0:0]
				for _, s := range rep.Suggestions {
					if s.Missing {
						ss = append(ss, s)
					}
				}
			}
			if len(ss) == 0 {
				if missing {
					fmt.Fprintf(cmd.ErrOrStderr(), "nothing %s did was denied\n", fn)
				} else {
					fmt.Fprintf(cmd.ErrOrStderr(), "no AWS calls of %s are recorded yet: exercise the function, then ask again\n", fn)
				}
				return nil
			}
			fmt.Fprint(cmd.OutOrStdout(), iam.YAML(ss))
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVarP(&fn, "function", "f", "", "the function (its name in serverless.yml or its full name)")
	cmd.Flags().BoolVar(&missing, "missing", false, "only what its role does not allow yet")
	return cmd
}
