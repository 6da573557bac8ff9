package dynamodb

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/store"
)

type attributeDefinition struct {
	AttributeName string `json:"AttributeName"`
	AttributeType string `json:"AttributeType"`
}

type keyElement struct {
	AttributeName string `json:"AttributeName"`
	KeyType       string `json:"KeyType"`
}

type projection struct {
	ProjectionType   string   `json:"ProjectionType,omitempty"`
	NonKeyAttributes []string `json:"NonKeyAttributes,omitempty"`
}

type throughput struct {
	ReadCapacityUnits  *int64 `json:"ReadCapacityUnits,omitempty"`
	WriteCapacityUnits *int64 `json:"WriteCapacityUnits,omitempty"`
}

type throughputDescription struct {
	NumberOfDecreasesToday int64 `json:"NumberOfDecreasesToday"`
	ReadCapacityUnits      int64 `json:"ReadCapacityUnits"`
	WriteCapacityUnits     int64 `json:"WriteCapacityUnits"`
}

type index struct {
	IndexName             string       `json:"IndexName"`
	KeySchema             []keyElement `json:"KeySchema"`
	Projection            projection   `json:"Projection"`
	ProvisionedThroughput *throughput  `json:"ProvisionedThroughput,omitempty"`
	IndexStatus           string       `json:"IndexStatus,omitempty"`
	IndexSizeBytes        int64        `json:"IndexSizeBytes"`
	ItemCount             int64        `json:"ItemCount"`
	IndexArn              string       `json:"IndexArn,omitempty"`
}

type streamSpecification struct {
	StreamEnabled  bool   `json:"StreamEnabled"`
	StreamViewType string `json:"StreamViewType,omitempty"`
}

// tableDescription is DynamoDB's TableDescription, as kept in the store
// and answered.
type tableDescription struct {
	AttributeDefinitions   []attributeDefinition `json:"AttributeDefinitions"`
	TableName              string                `json:"TableName"`
	KeySchema              []keyElement          `json:"KeySchema"`
	TableStatus            string                `json:"TableStatus"`
	CreationDateTime       float64               `json:"CreationDateTime"`
	ProvisionedThroughput  throughputDescription `json:"ProvisionedThroughput"`
	TableSizeBytes         int64                 `json:"TableSizeBytes"`
	ItemCount              int64                 `json:"ItemCount"`
	TableArn               string                `json:"TableArn"`
	TableID                string                `json:"TableId"`
	BillingModeSummary     *billingModeSummary   `json:"BillingModeSummary,omitempty"`
	LocalSecondaryIndexes  []index               `json:"LocalSecondaryIndexes,omitempty"`
	GlobalSecondaryIndexes []index               `json:"GlobalSecondaryIndexes,omitempty"`
	StreamSpecification    *streamSpecification  `json:"StreamSpecification,omitempty"`
	LatestStreamLabel      string                `json:"LatestStreamLabel,omitempty"`
	LatestStreamArn        string                `json:"LatestStreamArn,omitempty"`
	DeletionProtection     bool                  `json:"DeletionProtectionEnabled"`
	// TTL is kept with the table in the store; answers leave it out
	// (public), as DescribeTimeToLive tells it.
	TTL *ttlDescription `json:"CloudletTimeToLive,omitempty"`
	// Tags are kept with the table too; ListTagsOfResource tells them.
	Tags []tag `json:"CloudletTags,omitempty"`
}

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// public is d as TableDescription answers show it.
func (d *tableDescription) public() *tableDescription {
	out := *d
	out.TTL, out.Tags = nil, nil
	return &out
}

type billingModeSummary struct {
	BillingMode string `json:"BillingMode"`
}

type createTableInput struct {
	TableName                 string                `json:"TableName"`
	AttributeDefinitions      []attributeDefinition `json:"AttributeDefinitions"`
	KeySchema                 []keyElement          `json:"KeySchema"`
	BillingMode               string                `json:"BillingMode"`
	ProvisionedThroughput     *throughput           `json:"ProvisionedThroughput"`
	LocalSecondaryIndexes     []index               `json:"LocalSecondaryIndexes"`
	GlobalSecondaryIndexes    []index               `json:"GlobalSecondaryIndexes"`
	StreamSpecification       *streamSpecification  `json:"StreamSpecification"`
	Tags                      []tag                 `json:"Tags"`
	DeletionProtectionEnabled bool                  `json:"DeletionProtectionEnabled"`
}

var tableNameRe = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)

// checkTableName validates a TableName parameter as DynamoDB does.
func checkTableName(name string) *awsapi.Error {
	switch {
	case len(name) < 3:
		return validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3", name))
	case len(name) > 255:
		return validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'tableName' failed to satisfy constraint: Member must have length less than or equal to 255", name))
	case !tableNameRe.MatchString(name):
		return validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+", name))
	}
	return nil
}

func (s *Service) tableARN(name string) string {
	return "arn:aws:dynamodb:" + s.region + ":" + s.account + ":table/" + name
}

func (s *Service) createTable(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in createTableInput
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	if e := s.checkTable(call, "CreateTable", in.TableName); e != nil {
		return nil, e
	}
	d, e := s.describeNew(&in)
	if e != nil {
		return nil, e
	}
	doc, _ := json.Marshal(d)
	var exists bool
	err := s.update(r.Context(), func(tx *store.Tx) error {
		n, err := tx.Exec(`INSERT INTO dynamodb_tables (name, description) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, in.TableName, string(doc))
		if exists = n == 0; err != nil || exists || d.StreamSpecification == nil {
			return err
		}
		return openStreamTx(tx, d)
	})
	if err != nil {
		s.log.Error("dynamodb: create table", "table", in.TableName, "err", err)
		return nil, &awsapi.Error{Code: "InternalServerError", Status: 500, Message: "Internal server error"}
	}
	if exists {
		return nil, &awsapi.Error{Code: "ResourceInUseException", Status: 400, Message: "Table already exists: " + in.TableName}
	}
	return map[string]any{"TableDescription": d}, nil
}

// describeNew checks a CreateTable request as DynamoDB does and describes
// the table it makes.
func (s *Service) describeNew(in *createTableInput) (*tableDescription, *awsapi.Error) {
	invalid := func(msg string) *awsapi.Error { return validation("One or more parameter values were invalid: " + msg) }
	defined := map[string]string{}
	for _, a := range in.AttributeDefinitions {
		switch a.AttributeType {
		case "S", "N", "B":
		default:
			return nil, validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]", a.AttributeType))
		}
		if _, dup := defined[a.AttributeName]; dup {
			return nil, invalid("Duplicate AttributeName in AttributeDefinitions: " + a.AttributeName)
		}
		defined[a.AttributeName] = a.AttributeType
	}
	used := map[string]bool{}
	checkKeys := func(ks []keyElement, what string) *awsapi.Error {
		if len(ks) == 0 || len(ks) > 2 {
			return validation(fmt.Sprintf("1 validation error detected: Value '%v' at '%s' failed to satisfy constraint: Member must have length less than or equal to 2 and greater than or equal to 1", ks, what))
		}
		if ks[0].KeyType != "HASH" || len(ks) == 2 && ks[1].KeyType != "RANGE" {
			return invalid("Invalid KeySchema: The first KeySchemaElement is not a HASH key type, or the second is not a RANGE key type")
		}
		for _, k := range ks {
			if _, ok := defined[k.AttributeName]; !ok {
				return invalid(fmt.Sprintf("Some index key attributes are not defined in AttributeDefinitions. Keys: [%s], AttributeDefinitions: [%s]",
					keyNames(ks), strings.Join(sortedKeys(defined), ", ")))
			}
			used[k.AttributeName] = true
		}
		return nil
	}
	if e := checkKeys(in.KeySchema, "keySchema"); e != nil {
		return nil, e
	}
	mode := in.BillingMode
	switch mode {
	case "":
		mode = "PROVISIONED"
	case "PROVISIONED", "PAY_PER_REQUEST":
	default:
		return nil, validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]", mode))
	}
	tp := throughputDescription{}
	switch {
	case mode == "PROVISIONED" && (in.ProvisionedThroughput == nil || in.ProvisionedThroughput.ReadCapacityUnits == nil || in.ProvisionedThroughput.WriteCapacityUnits == nil):
		return nil, invalid("ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")
	case mode == "PAY_PER_REQUEST" && in.ProvisionedThroughput != nil:
		return nil, invalid("Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")
	case mode == "PROVISIONED":
		tp.ReadCapacityUnits, tp.WriteCapacityUnits = *in.ProvisionedThroughput.ReadCapacityUnits, *in.ProvisionedThroughput.WriteCapacityUnits
		if tp.ReadCapacityUnits < 1 || tp.WriteCapacityUnits < 1 {
			return nil, invalid("Provisioned throughput must be at least 1 for reads and writes")
		}
	}
	arn := s.tableARN(in.TableName)
	names := map[string]bool{}
	checkIndex := func(ix *index, kind string) *awsapi.Error {
		if len(ix.IndexName) < 3 || len(ix.IndexName) > 255 || !tableNameRe.MatchString(ix.IndexName) {
			return validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'indexName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255", ix.IndexName))
		}
		if names[ix.IndexName] {
			return invalid("Duplicate index name: " + ix.IndexName)
		}
		names[ix.IndexName] = true
		if e := checkKeys(ix.KeySchema, kind+".keySchema"); e != nil {
			return e
		}
		switch ix.Projection.ProjectionType {
		case "ALL", "KEYS_ONLY":
			if len(ix.Projection.NonKeyAttributes) > 0 {
				return invalid("ProjectionType is " + ix.Projection.ProjectionType + ", but NonKeyAttributes is specified")
			}
		case "INCLUDE":
			if len(ix.Projection.NonKeyAttributes) == 0 {
				return invalid("NonKeyAttributes must be specified when ProjectionType is INCLUDE")
			}
		default:
			return invalid("Unknown ProjectionType: " + ix.Projection.ProjectionType)
		}
		ix.IndexArn = arn + "/index/" + ix.IndexName
		return nil
	}
	for i := range in.LocalSecondaryIndexes {
		ix := &in.LocalSecondaryIndexes[i]
		if e := checkIndex(ix, "localSecondaryIndexes"); e != nil {
			return nil, e
		}
		if len(ix.KeySchema) != 2 || ix.KeySchema[0].AttributeName != in.KeySchema[0].AttributeName {
			return nil, invalid("Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex")
		}
		ix.ProvisionedThroughput = nil
	}
	for i := range in.GlobalSecondaryIndexes {
		ix := &in.GlobalSecondaryIndexes[i]
		if e := checkIndex(ix, "globalSecondaryIndexes"); e != nil {
			return nil, e
		}
		ix.IndexStatus = "ACTIVE"
		if mode == "PAY_PER_REQUEST" && ix.ProvisionedThroughput != nil {
			return nil, invalid("ProvisionedThroughput should not be specified for index: " + ix.IndexName + " when BillingMode is PAY_PER_REQUEST")
		}
	}
	if len(used) != len(defined) {
		return nil, invalid("Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions")
	}
	now := time.Now()
	d := &tableDescription{
		AttributeDefinitions: in.AttributeDefinitions, TableName: in.TableName, KeySchema: in.KeySchema,
		TableStatus: "ACTIVE", CreationDateTime: float64(now.UnixMilli()) / 1000, ProvisionedThroughput: tp,
		TableArn: arn, TableID: uuid(), LocalSecondaryIndexes: in.LocalSecondaryIndexes,
		GlobalSecondaryIndexes: in.GlobalSecondaryIndexes, DeletionProtection: in.DeletionProtectionEnabled,
	}
	if in.BillingMode != "" {
		d.BillingModeSummary = &billingModeSummary{BillingMode: mode}
	}
	if e := checkTags(in.Tags); e != nil {
		return nil, e
	}
	d.Tags = mergeTags(nil, in.Tags)
	if sp := in.StreamSpecification; sp != nil && sp.StreamEnabled {
		switch sp.StreamViewType {
		case "KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES":
		default:
			return nil, invalid("StreamViewType must be KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES when the stream is enabled")
		}
		d.StreamSpecification = sp
		d.LatestStreamLabel = now.UTC().Format("2006-01-02T15:04:05.000")
		d.LatestStreamArn = arn + "/stream/" + d.LatestStreamLabel
	}
	return d, nil
}

func keyNames(ks []keyElement) string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.AttributeName
	}
	return strings.Join(out, ", ")
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func uuid() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// loadTx reads a table's description in tx; nil when there is none.
func loadTx(tx *store.Tx, name string) (*tableDescription, error) {
	t, err := loadTableTx(tx, name)
	if t == nil {
		return nil, err
	}
	return t.d, nil
}

// checkTable authorizes op on table name, then checks the name: the start
// of every operation on one table.
func (s *Service) checkTable(call *awsapi.Call, op, name string) *awsapi.Error {
	if e := call.Authorize(ops.Op(op), s.tableARN(name), nil, nil); e != nil {
		return e
	}
	return checkTableName(name)
}

// readTable is checkTable, then the table's description (ResourceNotFound
// when there is none).
func (s *Service) readTable(r *http.Request, call *awsapi.Call, op, name string) (*tableDescription, *awsapi.Error) {
	if e := s.checkTable(call, op, name); e != nil {
		return nil, e
	}
	var d *tableDescription
	err := s.st.View(r.Context(), func(tx *store.Tx) (err error) {
		d, err = loadTx(tx, name)
		return err
	})
	if err != nil {
		return nil, internal(s, op, err)
	}
	if d == nil {
		return nil, notFound(name)
	}
	return d, nil
}

func notFound(name string) *awsapi.Error {
	return &awsapi.Error{Code: "ResourceNotFoundException", Status: 400, Message: "Requested resource not found: Table: " + name + " not found"}
}

func internal(s *Service, what string, err error) *awsapi.Error {
	s.log.Error("dynamodb: "+what, "err", err)
	return &awsapi.Error{Code: "InternalServerError", Status: 500, Message: "Internal server error"}
}

func (s *Service) describeTable(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		TableName string `json:"TableName"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	d, e := s.readTable(r, call, "DescribeTable", in.TableName)
	if e != nil {
		return nil, e
	}
	err := s.st.View(r.Context(), func(tx *store.Tx) error {
		if err := tx.QueryRow(`SELECT COUNT(*), COALESCE(SUM(size), 0) FROM dynamodb_items WHERE tbl = ?`, d.TableID).Scan(&d.ItemCount, &d.TableSizeBytes); err != nil {
			return err
		}
		for _, list := range [][]index{d.GlobalSecondaryIndexes, d.LocalSecondaryIndexes} {
			for i := range list {
				if err := tx.QueryRow(`SELECT COUNT(*), COALESCE(SUM(t.size), 0) FROM dynamodb_index_keys i JOIN dynamodb_items t
					ON t.tbl = i.tbl AND t.hk = i.thk AND t.rk = i.trk WHERE i.tbl = ? AND i.idx = ?`, d.TableID, list[i].IndexName).
					Scan(&list[i].ItemCount, &list[i].IndexSizeBytes); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, internal(s, "describe table", err)
	}
	return map[string]any{"Table": d.public()}, nil
}

func (s *Service) listTables(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		ExclusiveStartTableName string `json:"ExclusiveStartTableName"`
		Limit                   *int   `json:"Limit"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	if e := call.Authorize(ops.Op("ListTables"), "*", nil, nil); e != nil {
		return nil, e
	}
	limit := 100
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 100 {
			return nil, validation(fmt.Sprintf("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100 and greater than or equal to 1", *in.Limit))
		}
		limit = *in.Limit
	}
	names := []string{}
	err := s.st.View(r.Context(), func(tx *store.Tx) error {
		rows, err := tx.Query(`SELECT name FROM dynamodb_tables WHERE name > ? ORDER BY name LIMIT ?`, in.ExclusiveStartTableName, limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return err
			}
			names = append(names, n)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, internal(s, "list tables", err)
	}
	out := map[string]any{}
	if len(names) > limit {
		names = names[:limit]
		out["LastEvaluatedTableName"] = names[limit-1]
	}
	out["TableNames"] = names
	return out, nil
}

func (s *Service) deleteTable(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		TableName string `json:"TableName"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	if e := s.checkTable(call, "DeleteTable", in.TableName); e != nil {
		return nil, e
	}
	var d *tableDescription
	var e *awsapi.Error
	s.cache.drop(in.TableName)
	err := s.update(r.Context(), func(tx *store.Tx) (err error) {
		if d, err = loadTx(tx, in.TableName); err != nil || d == nil {
			e = notFound(in.TableName)
			return err
		}
		if d.DeletionProtection {
			e = validation("Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.")
			return nil
		}
		if _, err = tx.Exec(`DELETE FROM dynamodb_items WHERE tbl = ?`, d.TableID); err != nil {
			return err
		}
		if _, err = tx.Exec(`DELETE FROM dynamodb_index_keys WHERE tbl = ?`, d.TableID); err != nil {
			return err
		}
		if _, err = tx.Exec(`DELETE FROM dynamodb_tables WHERE name = ?`, in.TableName); err != nil {
			return err
		}
		return closeStreamsTx(tx, in.TableName)
	})
	s.cache.drop(in.TableName)
	if err != nil {
		return nil, internal(s, "delete table", err)
	}
	if e != nil {
		return nil, e
	}
	d.TableStatus = "DELETING"
	return map[string]any{"TableDescription": d.public()}, nil
}
