package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// DynamoDB with the aws CLI v2: tables, items, expressions, the CLI's own
// paging of Scan, batch writes, waiters, and DynamoDB's errors as the CLI
// prints them.
func TestAWSCLIv2DynamoDB(t *testing.T) {
	s := start(t)
	cli, run := awsCLIv2(t, s, "--output", "json")
	run("dynamodb", "create-table", "--table-name", "cli-music",
		"--attribute-definitions", "AttributeName=Artist,AttributeType=S", "AttributeName=SongTitle,AttributeType=S",
		"--key-schema", "AttributeName=Artist,KeyType=HASH", "AttributeName=SongTitle,KeyType=RANGE",
		"--billing-mode", "PAY_PER_REQUEST")
	run("dynamodb", "wait", "table-exists", "--table-name", "cli-music")
	run("dynamodb", "put-item", "--table-name", "cli-music", "--item",
		`{"Artist":{"S":"No One You Know"},"SongTitle":{"S":"Call Me Today"},"AlbumTitle":{"S":"Somewhat Famous"},"Awards":{"N":"1"}}`)
	var reqs []string
	for i := 0; i < 24; i++ {
		reqs = append(reqs, `{"PutRequest":{"Item":{"Artist":{"S":"Acme Band"},"SongTitle":{"S":"Song `+string(rune('A'+i))+`"}}}}`)
	}
	run("dynamodb", "batch-write-item", "--request-items", `{"cli-music":[`+strings.Join(reqs, ",")+`]}`)
	out := run("dynamodb", "update-item", "--table-name", "cli-music",
		"--key", `{"Artist":{"S":"No One You Know"},"SongTitle":{"S":"Call Me Today"}}`,
		"--update-expression", "SET AlbumTitle = :t ADD Awards :one",
		"--expression-attribute-values", `{":t":{"S":"Updated Album Title"},":one":{"N":"1"}}`,
		"--return-values", "ALL_NEW")
	var upd struct{ Attributes map[string]map[string]string }
	if json.Unmarshal([]byte(out), &upd) != nil || upd.Attributes["Awards"]["N"] != "2" || upd.Attributes["AlbumTitle"]["S"] != "Updated Album Title" {
		t.Fatalf("update-item: %s", out)
	}
	out = run("dynamodb", "query", "--table-name", "cli-music", "--key-condition-expression", "Artist = :a AND begins_with(SongTitle, :p)",
		"--expression-attribute-values", `{":a":{"S":"Acme Band"},":p":{"S":"Song "}}`, "--select", "COUNT")
	if !strings.Contains(out, `"Count": 24`) {
		t.Fatalf("query: %s", out)
	}
	// the CLI pages Scan itself: 25 items in pages of 4
	out = run("dynamodb", "scan", "--table-name", "cli-music", "--page-size", "4", "--query", "length(Items)")
	if strings.TrimSpace(out) != "25" {
		t.Fatalf("scan: %s", out)
	}
	out = run("dynamodb", "get-item", "--table-name", "cli-music", "--key", `{"Artist":{"S":"No One You Know"},"SongTitle":{"S":"Call Me Today"}}`,
		"--projection-expression", "Awards")
	if !strings.Contains(out, `"N": "2"`) || strings.Contains(out, "AlbumTitle") {
		t.Fatalf("get-item: %s", out)
	}
	out, err := cli("dynamodb", "put-item", "--table-name", "cli-music", "--item", `{"Artist":{"S":"x"},"SongTitle":{"S":"y"}}`,
		"--condition-expression", "attribute_exists(Artist)")
	if err == nil || !strings.Contains(out, "An error occurred (ConditionalCheckFailedException) when calling the PutItem operation: The conditional request failed") {
		t.Fatalf("conditional put: %v %s", err, out)
	}
	out, err = cli("dynamodb", "get-item", "--table-name", "cli-music", "--key", `{"Artist":{"S":"x"}}`)
	if err == nil || !strings.Contains(out, "(ValidationException) when calling the GetItem operation: The provided key element does not match the schema") {
		t.Fatalf("bad key: %v %s", err, out)
	}
	run("dynamodb", "delete-table", "--table-name", "cli-music")
	run("dynamodb", "wait", "table-not-exists", "--table-name", "cli-music")
	out, err = cli("dynamodb", "describe-table", "--table-name", "cli-music")
	if err == nil || !strings.Contains(out, "ResourceNotFoundException") {
		t.Fatalf("describe a deleted table: %v %s", err, out)
	}
}
