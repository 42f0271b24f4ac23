// This file holds Store: the State as one DynamoDB item, written with a
// condition on its version.

package dynamo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"extcloud-failover/internal/state"
)

// Attribute names of the DynamoDB item.
const (
	attrKey     = "pk"
	attrVersion = "version"
	attrState   = "state"
)

// API is the part of the DynamoDB client a Store uses;
// *dynamodb.Client satisfies it.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

// Store keeps the state.State in one DynamoDB item of a table whose partition
// key is the string attribute "pk". The item has three attributes: pk (the
// store's key), version (N, the compare-and-swap token) and state (S, the
// state.State as compact JSON in the format of state.Encode, its version equal to the
// version attribute).
//
// Load reads with ConsistentRead, so it sees every Swap that returned before
// it. Swap is one conditional PutItem: several invocations on any number of
// hosts may race and exactly one write per version succeeds. No
// transactions, TTL or other tables are used. A Store is safe for
// concurrent use if its client is; *dynamodb.Client is.
type Store struct {
	client API
	table  string
	key    string
}

// NewStore returns a Store keeping its state.State in the item with
// partition key key of table.
func NewStore(client API, table, key string) *Store {
	return &Store{client: client, table: table, key: key}
}

func (s *Store) itemKey() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrKey: &types.AttributeValueMemberS{Value: s.key}}
}

// Load returns the stored state, or the zero State when the item does not
// exist. An item whose attributes cannot be decoded yields an error wrapping
// state.ErrCorrupt; the item is left as it is and, if its version attribute could
// be read, the returned state.State carries that Version (and nothing else) so a
// caller may overwrite the item with Swap.
func (s *Store) Load(ctx context.Context) (state.State, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            s.itemKey(),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return state.State{}, fmt.Errorf("load state %s/%s: %w%s", s.table, s.key, err, s.hint(err))
	}
	if len(out.Item) == 0 {
		return state.State{}, nil
	}
	st, err := decodeItem(out.Item)
	if err != nil {
		return st, fmt.Errorf("load state %s/%s: %w", s.table, s.key, err)
	}
	return st, nil
}

func decodeItem(item map[string]types.AttributeValue) (state.State, error) {
	v, ok := item[attrVersion].(*types.AttributeValueMemberN)
	if !ok {
		return state.State{}, fmt.Errorf("%w: attribute %q missing or not a number", state.ErrCorrupt, attrVersion)
	}
	version, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil || version < 1 {
		return state.State{}, fmt.Errorf("%w: attribute %q is %q, want an integer of 1 or more", state.ErrCorrupt, attrVersion, v.Value)
	}
	raw, ok := item[attrState].(*types.AttributeValueMemberS)
	if !ok {
		return state.State{Version: version}, fmt.Errorf("%w: attribute %q missing or not a string", state.ErrCorrupt, attrState)
	}
	st, err := state.Decode([]byte(raw.Value))
	if err != nil {
		return state.State{Version: version}, fmt.Errorf("attribute %q: %w", attrState, err)
	}
	if st.Version != version {
		return state.State{Version: version}, fmt.Errorf("%w: attribute %q has version %d, attribute %q is %d",
			state.ErrCorrupt, attrState, st.Version, attrVersion, version)
	}
	return st, nil
}

// Swap stores next, with Version set to old.Version+1, if the item still has
// version old.Version (old.Version 0: if no item exists yet), and returns
// what it stored. Otherwise it returns an error wrapping state.ErrConflict and
// changes nothing.
func (s *Store) Swap(ctx context.Context, old, next state.State) (state.State, error) {
	if old.Version < 0 {
		return state.State{}, fmt.Errorf("swap state %s/%s: negative version %d", s.table, s.key, old.Version)
	}
	next.Version = old.Version + 1
	data, stored, err := state.Canonical(next)
	if err != nil {
		return state.State{}, fmt.Errorf("swap state %s/%s: %w", s.table, s.key, err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, data); err != nil {
		return state.State{}, fmt.Errorf("swap state %s/%s: %w", s.table, s.key, err)
	}

	in := &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item: map[string]types.AttributeValue{
			attrKey:     &types.AttributeValueMemberS{Value: s.key},
			attrVersion: &types.AttributeValueMemberN{Value: strconv.FormatInt(next.Version, 10)},
			attrState:   &types.AttributeValueMemberS{Value: compact.String()},
		},
	}
	if old.Version == 0 {
		in.ConditionExpression = aws.String("attribute_not_exists(#pk)")
		in.ExpressionAttributeNames = map[string]string{"#pk": attrKey}
	} else {
		in.ConditionExpression = aws.String("#v = :v")
		in.ExpressionAttributeNames = map[string]string{"#v": attrVersion}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{
			":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(old.Version, 10)},
		}
	}
	if _, err := s.client.PutItem(ctx, in); err != nil {
		var failed *types.ConditionalCheckFailedException
		if errors.As(err, &failed) {
			return state.State{}, fmt.Errorf("swap state %s/%s: stored version is not %d: %w",
				s.table, s.key, old.Version, state.ErrConflict)
		}
		return state.State{}, fmt.Errorf("swap state %s/%s: %w%s", s.table, s.key, err, s.hint(err))
	}
	return stored, nil
}

// hint says what to do about a DynamoDB error an operator fixes in the
// deployment, naming STATE_TABLE, the setting that gives the table; it
// returns "" for other errors.
func (s *Store) hint(err error) string {
	var notFound *types.ResourceNotFoundException
	var api smithy.APIError
	switch {
	case errors.As(err, &notFound):
		return fmt.Sprintf(" (STATE_TABLE: no table %q in this account and region: deploy the stack's table or fix STATE_TABLE)", s.table)
	case errors.As(err, &api) && api.ErrorCode() == "AccessDeniedException":
		return fmt.Sprintf(" (STATE_TABLE: the function's role may not use table %q: grant it dynamodb:GetItem and dynamodb:PutItem on the table)", s.table)
	}
	return ""
}

// CreateTableAPI is the part of the DynamoDB client CreateTable uses;
// *dynamodb.Client satisfies it.
type CreateTableAPI interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

// createTableTimeout bounds the wait for ACTIVE when ctx has no deadline.
const createTableTimeout = 2 * time.Minute

// CreateTable creates a table for Store (partition key "pk" of type
// string, on-demand billing) and waits until it is ACTIVE. A table of that
// name that exists already is not an error; CreateTable then only waits for
// it. It is meant for tests and set-up scripts: production tables come from
// the deployment template.
func CreateTable(ctx context.Context, client CreateTableAPI, table string) error {
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String(table),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrKey), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrKey), KeyType: types.KeyTypeHash},
		},
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create table %s: %w", table, err)
	}

	maxWait := createTableTimeout
	if dl, ok := ctx.Deadline(); ok {
		maxWait = max(time.Until(dl), time.Millisecond)
	}
	w := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		// Local tables (dynalite) are ACTIVE at once; AWS takes seconds.
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, maxWait); err != nil {
		return fmt.Errorf("create table %s: wait for ACTIVE: %w", table, err)
	}
	return nil
}
