package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"

	"github.com/cloudlet/cloudlet/internal/server"
)

// client talks to a running server.
type client struct {
	flags *clientFlags
	base  string
	creds aws.Credentials
	http  *http.Client
}

func (c *clientFlags) client() *client {
	base := c.apiAddr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	return &client{
		flags: c, base: strings.TrimRight(base, "/"),
		creds: aws.Credentials{AccessKeyID: c.accessKey, SecretAccessKey: c.secretKey, Source: "cloudlet"},
		http:  &http.Client{},
	}
}

// lambda returns an AWS SDK Lambda client for the server.
func (c *client) lambda() *lambda.Client {
	return lambda.New(lambda.Options{
		Region:       c.flags.region,
		BaseEndpoint: aws.String(c.base),
		Credentials:  aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return c.creds, nil }),
		HTTPClient:   c.http,
		// A local server that does not answer will not answer a retry.
		RetryMaxAttempts: 1,
	})
}

// sdkError says what went wrong with a call made through the AWS SDK as
// the admin calls say it: the service's own message for an error it
// answered ("Function not found: …"), "cannot reach Cloudlet at …" when
// nothing answered, never the SDK's wrapping.
func (c *client) sdkError(err error) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		msg := api.ErrorMessage()
		if msg == "" {
			msg = api.ErrorCode()
		}
		if api.ErrorCode() == "ResourceNotFoundException" {
			return errors.New(msg)
		}
		return fmt.Errorf("%s: %s", api.ErrorCode(), msg)
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return fmt.Errorf("cannot reach Cloudlet at %s (is `cloudlet up` or `cloudlet server` running?): %v", c.base, op.Err)
	}
	return err
}

// admin calls an admin endpoint, signed with SigV4 like any AWS call.
func (c *client) admin(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	sum := sha256.Sum256(payload)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	if err := v4.NewSigner().SignHTTP(ctx, c.creds, req, hash, "cloudlet", c.flags.region, time.Now()); err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach Cloudlet at %s (is `cloudlet up` or `cloudlet server` running?): %w", c.base, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		var e struct {
			Message string `json:"message"`
			Type    string `json:"__type"`
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(data, &e) == nil && e.Message != "" {
			return nil, fmt.Errorf("%s", e.Message)
		}
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	return resp, nil
}

func (c *client) info(ctx context.Context) (*server.Info, error) {
	resp, err := c.admin(ctx, http.MethodGet, server.AdminInfoPath, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var info server.Info
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		return nil, fmt.Errorf("read info: %w", err)
	}
	return &info, nil
}

// resolve maps a function's key in serverless.yml (`-f getUser`) to its full
// name; a full name or ARN is returned as given.
func (c *client) resolve(ctx context.Context, name string) string {
	info, err := c.info(ctx)
	if err != nil || info.Deployment == nil {
		return name
	}
	for _, fn := range info.Deployment.Functions {
		if fn.Key == name {
			return fn.Name
		}
	}
	return name
}
