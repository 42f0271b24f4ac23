package dynamo_test

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"extcloud-failover/internal/state"
	"extcloud-failover/internal/state/dynamo"
	"extcloud-failover/internal/state/statetest"
	"extcloud-failover/internal/testenv"
)

// recordingAPI passes calls to a real client and keeps every GetItem input.
type recordingAPI struct {
	dynamo.API
	mu   sync.Mutex
	gets []*dynamodb.GetItemInput
}

func (r *recordingAPI) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	r.mu.Lock()
	r.gets = append(r.gets, in)
	r.mu.Unlock()
	return r.API.GetItem(ctx, in, optFns...)
}

func (r *recordingAPI) getItems() []*dynamodb.GetItemInput {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*dynamodb.GetItemInput(nil), r.gets...)
}

// TestDynamoStore runs against one dynalite; each subtest has its own table.
func TestDynamoStore(t *testing.T) {
	client := testenv.DynamoClient(t, testenv.Dynalite(t))
	tableN := 0
	newTable := func(t *testing.T) string {
		t.Helper()
		tableN++
		name := "state-test-" + strconv.Itoa(tableN)
		if err := dynamo.CreateTable(testContext(t), client, name); err != nil {
			t.Fatalf("CreateTable: %v", err)
		}
		return name
	}
	getItem := func(t *testing.T, table, key string) map[string]types.AttributeValue {
		t.Helper()
		out, err := client.GetItem(testContext(t), &dynamodb.GetItemInput{
			TableName:      aws.String(table),
			Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: key}},
			ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			t.Fatal(err)
		}
		return out.Item
	}
	putItem := func(t *testing.T, table string, item map[string]types.AttributeValue) {
		t.Helper()
		if _, err := client.PutItem(testContext(t), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("create table is idempotent and active", func(t *testing.T) {
		ctx := testContext(t)
		table := newTable(t)
		if err := dynamo.CreateTable(ctx, client, table); err != nil {
			t.Errorf("second CreateTable: %v", err)
		}
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		if err != nil {
			t.Fatal(err)
		}
		if got := out.Table.TableStatus; got != types.TableStatusActive {
			t.Errorf("status %q, want ACTIVE", got)
		}
		if ks := out.Table.KeySchema; len(ks) != 1 || aws.ToString(ks[0].AttributeName) != "pk" || ks[0].KeyType != types.KeyTypeHash {
			t.Errorf("key schema %+v, want pk HASH", ks)
		}
		if bm := out.Table.BillingModeSummary; bm == nil || bm.BillingMode != types.BillingModePayPerRequest {
			t.Errorf("billing mode %+v, want PAY_PER_REQUEST", bm)
		}
	})

	t.Run("load of a missing item reads consistently", func(t *testing.T) {
		ctx := testContext(t)
		table := newTable(t)
		rec := &recordingAPI{API: client}
		store := dynamo.NewStore(rec, table, "host-a")
		got, err := store.Load(ctx)
		if err != nil || !reflect.DeepEqual(got, state.State{}) {
			t.Fatalf("Load = %+v, %v; want the zero State, nil", got, err)
		}
		if _, err := store.Swap(ctx, got, state.State{ActiveRegion: "EU"}); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Load(ctx); err != nil {
			t.Fatal(err)
		}
		gets := rec.getItems()
		if len(gets) != 2 {
			t.Fatalf("%d GetItem calls, want 2", len(gets))
		}
		for i, in := range gets {
			if !aws.ToBool(in.ConsistentRead) {
				t.Errorf("GetItem %d without ConsistentRead", i)
			}
			if aws.ToString(in.TableName) != table {
				t.Errorf("GetItem %d on table %q, want %q", i, aws.ToString(in.TableName), table)
			}
			if k, ok := in.Key["pk"].(*types.AttributeValueMemberS); !ok || k.Value != "host-a" || len(in.Key) != 1 {
				t.Errorf("GetItem %d key %+v, want pk=host-a", i, in.Key)
			}
		}
	})

	t.Run("create and swap", func(t *testing.T) {
		ctx := testContext(t)
		table := newTable(t)
		store := dynamo.NewStore(client, table, "main")

		first := statetest.Full()
		v1, err := store.Swap(ctx, state.State{}, first)
		if err != nil {
			t.Fatalf("first Swap: %v", err)
		}
		first.Version = 1
		if !reflect.DeepEqual(v1, first) {
			t.Errorf("first Swap returned\n %+v\nwant %+v", v1, first)
		}
		if got, err := store.Load(ctx); err != nil || !reflect.DeepEqual(got, v1) {
			t.Errorf("Load = %+v, %v; want %+v", got, err, v1)
		}

		v2, err := store.Swap(ctx, v1, state.State{ActiveRegion: "APAC", Generation: 4})
		if err != nil {
			t.Fatalf("second Swap: %v", err)
		}
		want := state.State{Version: 2, ActiveRegion: "APAC", Generation: 4}
		if !reflect.DeepEqual(v2, want) {
			t.Errorf("second Swap returned %+v, want %+v", v2, want)
		}
		if got, err := store.Load(ctx); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Load = %+v, %v; want %+v", got, err, want)
		}

		// The documented item layout: pk, version (N) and state (S, JSON).
		item := getItem(t, table, "main")
		if len(item) != 3 {
			t.Errorf("item has attributes %v, want pk, version and state", item)
		}
		if v, ok := item["version"].(*types.AttributeValueMemberN); !ok || v.Value != "2" {
			t.Errorf("version attribute %#v, want N 2", item["version"])
		}
		raw, ok := item["state"].(*types.AttributeValueMemberS)
		if !ok {
			t.Fatalf("state attribute %#v, want a string", item["state"])
		}
		if strings.Contains(raw.Value, "\n") {
			t.Errorf("state attribute is not compact JSON: %q", raw.Value)
		}
		if got, err := state.Decode([]byte(raw.Value)); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("state attribute decodes to %+v, %v; want %+v", got, err, want)
		}
	})

	t.Run("conflict", func(t *testing.T) {
		ctx := testContext(t)
		table := newTable(t)
		store := dynamo.NewStore(client, table, "main")
		v1, err := store.Swap(ctx, state.State{}, state.State{ActiveRegion: "NAM"})
		if err != nil {
			t.Fatal(err)
		}
		v2, err := store.Swap(ctx, v1, state.State{ActiveRegion: "EU"})
		if err != nil {
			t.Fatal(err)
		}
		for _, old := range []int64{0, 1, 3} {
			_, err := store.Swap(ctx, state.State{Version: old}, state.State{ActiveRegion: "APAC"})
			if !errors.Is(err, state.ErrConflict) {
				t.Errorf("Swap from version %d: %v; want ErrConflict", old, err)
			} else if want := "swap state " + table + "/main: "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q, want it to start with %q", err, want)
			}
		}
		if got, err := store.Load(ctx); err != nil || !reflect.DeepEqual(got, v2) {
			t.Errorf("Load after conflicts = %+v, %v; want %+v", got, err, v2)
		}
		other := dynamo.NewStore(client, table, "never-written")
		if _, err := other.Swap(ctx, state.State{Version: 1}, state.State{}); !errors.Is(err, state.ErrConflict) {
			t.Errorf("Swap from version 1 of a missing item: %v; want ErrConflict", err)
		}
		if item := getItem(t, table, "never-written"); item != nil {
			t.Errorf("conflicting Swap created %v", item)
		}
	})

	t.Run("keys are separate", func(t *testing.T) {
		ctx := testContext(t)
		table := newTable(t)
		a := dynamo.NewStore(client, table, "a")
		b := dynamo.NewStore(client, table, "b")
		if _, err := a.Swap(ctx, state.State{}, state.State{ActiveRegion: "EU"}); err != nil {
			t.Fatal(err)
		}
		if got, err := b.Load(ctx); err != nil || !reflect.DeepEqual(got, state.State{}) {
			t.Errorf("Load of key b = %+v, %v; want the zero State", got, err)
		}
		if _, err := b.Swap(ctx, state.State{}, state.State{ActiveRegion: "NAM"}); err != nil {
			t.Errorf("first Swap of key b: %v", err)
		}
	})

	t.Run("50 racers, one winner", func(t *testing.T) {
		ctx := testContext(t)
		store := dynamo.NewStore(client, newTable(t), "main")
		v1, err := store.Swap(ctx, state.State{}, state.State{ActiveRegion: "NAM"})
		if err != nil {
			t.Fatal(err)
		}
		statetest.Race(t, ctx, v1, 50, func(int) state.Store { return store })
	})

	t.Run("corrupt item", func(t *testing.T) {
		tests := []struct {
			name        string
			item        map[string]types.AttributeValue
			wantVersion int64
		}{
			{"state not JSON", map[string]types.AttributeValue{
				"version": &types.AttributeValueMemberN{Value: "3"},
				"state":   &types.AttributeValueMemberS{Value: "{"},
			}, 3},
			{"state missing", map[string]types.AttributeValue{
				"version": &types.AttributeValueMemberN{Value: "5"},
			}, 5},
			{"versions disagree", map[string]types.AttributeValue{
				"version": &types.AttributeValueMemberN{Value: "4"},
				"state":   &types.AttributeValueMemberS{Value: `{"version":3}`},
			}, 4},
			{"version not a number", map[string]types.AttributeValue{
				"version": &types.AttributeValueMemberS{Value: "3"},
				"state":   &types.AttributeValueMemberS{Value: `{"version":3}`},
			}, 0},
			{"version zero", map[string]types.AttributeValue{
				"version": &types.AttributeValueMemberN{Value: "0"},
				"state":   &types.AttributeValueMemberS{Value: `{"version":0}`},
			}, 0},
		}
		table := newTable(t)
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := testContext(t)
				key := "corrupt-" + strconv.Itoa(i)
				tt.item["pk"] = &types.AttributeValueMemberS{Value: key}
				putItem(t, table, tt.item)
				store := dynamo.NewStore(client, table, key)

				got, err := store.Load(ctx)
				if !errors.Is(err, state.ErrCorrupt) {
					t.Fatalf("Load = %+v, %v; want ErrCorrupt", got, err)
				}
				if want := (state.State{Version: tt.wantVersion}); !reflect.DeepEqual(got, want) {
					t.Errorf("Load returned %+v with ErrCorrupt, want %+v", got, want)
				}
				if tt.wantVersion == 0 {
					return
				}
				// The version lets a caller overwrite the damaged item.
				if _, err := store.Swap(ctx, got, state.State{ActiveRegion: "EU"}); err != nil {
					t.Fatalf("Swap over the corrupt item: %v", err)
				}
				if got, err := store.Load(ctx); err != nil || got.Version != tt.wantVersion+1 || got.ActiveRegion != "EU" {
					t.Errorf("Load after the repair = %+v, %v", got, err)
				}
			})
		}
	})

	t.Run("missing table", func(t *testing.T) {
		ctx := testContext(t)
		store := dynamo.NewStore(client, "no-such-table", "main")
		var notFound *types.ResourceNotFoundException
		_, err := store.Load(ctx)
		if !errors.As(err, &notFound) || errors.Is(err, state.ErrCorrupt) {
			t.Errorf("Load: %v; want ResourceNotFoundException", err)
		}
		_, err = store.Swap(ctx, state.State{}, state.State{ActiveRegion: "EU"})
		if !errors.As(err, &notFound) || errors.Is(err, state.ErrConflict) {
			t.Errorf("Swap: %v; want ResourceNotFoundException, not a conflict", err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "swap state no-such-table/main: ") {
			t.Errorf("error %q lacks its context", err)
		}
		const hint = `(STATE_TABLE: no table "no-such-table" in this account and region: deploy the stack's table or fix STATE_TABLE)`
		if err != nil && !strings.HasSuffix(err.Error(), hint) {
			t.Errorf("error %q does not end with %q", err, hint)
		}
	})

	t.Run("invalid state is refused before the call", func(t *testing.T) {
		ctx := testContext(t)
		table := newTable(t)
		store := dynamo.NewStore(client, table, "main")
		if _, err := store.Swap(ctx, state.State{}, state.State{LatencyMS: -1}); err == nil || errors.Is(err, state.ErrCorrupt) {
			t.Errorf("Swap of a negative latency: %v; want a plain error", err)
		}
		if item := getItem(t, table, "main"); item != nil {
			t.Errorf("refused Swap wrote %v", item)
		}
	})
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// deniedAPI answers every call as IAM does when the role lacks the action.
type deniedAPI struct{}

func (deniedAPI) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform: dynamodb:GetItem"}
}

func (deniedAPI) PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform: dynamodb:PutItem"}
}

func TestAccessDeniedNamesStateTable(t *testing.T) {
	store := dynamo.NewStore(deniedAPI{}, "checker-state", "main")
	const hint = `(STATE_TABLE: the function's role may not use table "checker-state": grant it dynamodb:GetItem and dynamodb:PutItem on the table)`
	_, err := store.Load(testContext(t))
	if err == nil || !strings.HasPrefix(err.Error(), "load state checker-state/main: ") || !strings.HasSuffix(err.Error(), hint) {
		t.Errorf("Load: %v; want it to end with %q", err, hint)
	}
	_, err = store.Swap(testContext(t), state.State{}, state.State{ActiveRegion: "EU"})
	if err == nil || errors.Is(err, state.ErrConflict) || !strings.HasSuffix(err.Error(), hint) {
		t.Errorf("Swap: %v; want it to end with %q", err, hint)
	}
}
