// Command cloudlet runs a serverless.yml project on a serverless cloud in one binary.
package main

import (
	"os"

	"github.com/cloudlet/cloudlet/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) }
