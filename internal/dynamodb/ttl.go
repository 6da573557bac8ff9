package dynamodb

import (
	"encoding/json"
	"net/http"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/store"
)

type ttlSpecification struct {
	Enabled       *bool  `json:"Enabled"`
	AttributeName string `json:"AttributeName"`
}

type ttlDescription struct {
	TimeToLiveStatus string `json:"TimeToLiveStatus"`
	AttributeName    string `json:"AttributeName,omitempty"`
}

// updateTimeToLive serves UpdateTimeToLive: the setting is recorded with
// the table (expiring items comes with the data plane).
func (s *Service) updateTimeToLive(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		TableName               string            `json:"TableName"`
		TimeToLiveSpecification *ttlSpecification `json:"TimeToLiveSpecification"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	if e := s.checkTable(call, "UpdateTimeToLive", in.TableName); e != nil {
		return nil, e
	}
	spec := in.TimeToLiveSpecification
	switch {
	case spec == nil || spec.Enabled == nil:
		return nil, validation("1 validation error detected: Value null at 'timeToLiveSpecification.enabled' failed to satisfy constraint: Member must not be null")
	case spec.AttributeName == "" || len(spec.AttributeName) > 255:
		return nil, validation("1 validation error detected: Value '" + spec.AttributeName + "' at 'timeToLiveSpecification.attributeName' failed to satisfy constraint: Member must have length between 1 and 255")
	}
	var e *awsapi.Error
	err := s.st.Update(r.Context(), func(tx *store.Tx) error {
		d, err := loadTx(tx, in.TableName)
		if err != nil || d == nil {
			e = notFound(in.TableName)
			return err
		}
		enabled := d.TTL != nil && d.TTL.TimeToLiveStatus == "ENABLED"
		switch {
		case *spec.Enabled && enabled:
			e = validation("TimeToLive is already enabled")
			return nil
		case !*spec.Enabled && !enabled:
			e = validation("TimeToLive is already disabled")
			return nil
		case !*spec.Enabled && d.TTL.AttributeName != spec.AttributeName:
			e = validation("TimeToLive is active on a different AttributeName: current AttributeName is " + d.TTL.AttributeName)
			return nil
		}
		if *spec.Enabled {
			d.TTL = &ttlDescription{TimeToLiveStatus: "ENABLED", AttributeName: spec.AttributeName}
		} else {
			d.TTL = &ttlDescription{TimeToLiveStatus: "DISABLED"}
		}
		b, _ := json.Marshal(d)
		_, err = tx.Exec(`UPDATE dynamodb_tables SET description = ? WHERE name = ?`, string(b), in.TableName)
		return err
	})
	s.cache.drop(in.TableName)
	if err != nil {
		return nil, internal(s, "update time to live", err)
	}
	if e != nil {
		return nil, e
	}
	return map[string]any{"TimeToLiveSpecification": map[string]any{"Enabled": *spec.Enabled, "AttributeName": spec.AttributeName}}, nil
}

func (s *Service) describeTimeToLive(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	var in struct {
		TableName string `json:"TableName"`
	}
	if e := decode(call, &in); e != nil {
		return nil, e
	}
	d, e := s.readTable(r, call, "DescribeTimeToLive", in.TableName)
	if e != nil {
		return nil, e
	}
	ttl := d.TTL
	if ttl == nil {
		ttl = &ttlDescription{TimeToLiveStatus: "DISABLED"}
	}
	return map[string]any{"TimeToLiveDescription": ttl}, nil
}

// describeEndpoints answers with this server's own endpoint, as the SDKs'
// endpoint discovery expects.
func (s *Service) describeEndpoints(r *http.Request, call *awsapi.Call) (any, *awsapi.Error) {
	if e := call.Authorize(ops.Op("DescribeEndpoints"), "*", nil, nil); e != nil {
		return nil, e
	}
	return map[string]any{"Endpoints": []map[string]any{{"Address": r.Host, "CachePeriodInMinutes": 1440}}}, nil
}
