// This file holds the local SSM endpoint's DescribeInstanceInformation, for
// doctor: every instance matching the filters, Online unless its agent
// never answers.

package localssm

import (
	"slices"
	"strings"
)

type describeInput struct {
	Filters []TargetSpec
}

func (s *Server) describeInstances(in describeInput) (any, error) {
	for _, f := range in.Filters {
		if f.Key != "InstanceIds" && !strings.HasPrefix(f.Key, "tag:") {
			return nil, badRequest("InvalidFilterKey", "filter key %q is not served here (want InstanceIds or tag:Key)", f.Key)
		}
	}
	ids := make([]string, 0, len(s.opts.Instances))
	for id := range s.opts.Instances {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	list := []map[string]any{}
	for _, id := range ids {
		inst := s.opts.Instances[id]
		if !matchTargets(id, inst, in.Filters) {
			continue
		}
		ping := "Online"
		if inst.NeverAnswer {
			ping = "ConnectionLost"
		}
		list = append(list, map[string]any{"InstanceId": id, "PingStatus": ping, "PlatformType": "Linux", "ResourceType": "EC2Instance"})
	}
	return map[string]any{"InstanceInformationList": list}, nil
}
