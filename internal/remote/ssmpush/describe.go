// This file holds Describe: which managed instances each SSM target
// resolves to and whether their agents are online, for `doctor`.

package ssmpush

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"extcloud-failover/internal/ident"
)

// DescribeAPI is the part of the SSM API Describe uses; *ssm.Client
// satisfies it.
type DescribeAPI interface {
	DescribeInstanceInformation(ctx context.Context, in *ssm.DescribeInstanceInformationInput, optFns ...func(*ssm.Options)) (*ssm.DescribeInstanceInformationOutput, error)
}

// TargetInstances is what one target resolves to.
type TargetInstances struct {
	// Target is the target as SSM_TARGETS writes it: tag:Key=Value or an
	// instance ID.
	Target string
	// Online are the instance IDs whose agent is Online, sorted.
	Online []string
	// NotOnline maps the other instance IDs to their ping status
	// (ConnectionLost, Inactive).
	NotOnline map[string]string
	// Err says why SSM could not be asked.
	Err error
}

// maxDescribePages bounds one target's listing: 50 instances a page.
const maxDescribePages = 100

// Describe resolves every target with DescribeInstanceInformation, changing
// nothing: a tag target by its tag filter, an instance ID by itself.
func Describe(ctx context.Context, api DescribeAPI, targets []ident.SSMTarget) []TargetInstances {
	out := make([]TargetInstances, 0, len(targets))
	for _, t := range targets {
		ti := TargetInstances{Target: t.String(), NotOnline: map[string]string{}}
		filter := types.InstanceInformationStringFilter{Key: aws.String("tag:" + t.TagKey), Values: []string{t.TagValue}}
		if t.InstanceID != "" {
			filter = types.InstanceInformationStringFilter{Key: aws.String("InstanceIds"), Values: []string{t.InstanceID}}
		}
		in := &ssm.DescribeInstanceInformationInput{Filters: []types.InstanceInformationStringFilter{filter}, MaxResults: aws.Int32(50)}
		pages := ssm.NewDescribeInstanceInformationPaginator(api, in)
		for n := 0; pages.HasMorePages() && n < maxDescribePages; n++ {
			page, err := pages.NextPage(ctx)
			if err != nil {
				ti.Err = fmt.Errorf("DescribeInstanceInformation %s: %w", ti.Target, err)
				break
			}
			for _, info := range page.InstanceInformationList {
				id := aws.ToString(info.InstanceId)
				if info.PingStatus == types.PingStatusOnline {
					ti.Online = append(ti.Online, id)
				} else {
					ti.NotOnline[id] = string(info.PingStatus)
				}
			}
		}
		slices.Sort(ti.Online)
		out = append(out, ti)
	}
	return out
}
