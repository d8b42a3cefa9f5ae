#pragma once
// The EC2 Query protocol (API version 2016-11-15) on the operator API:
// `POST /` with a form body, or `GET /?Action=...`, answered in EC2's XML.
//
// DescribeAvailabilityZones lists every zone of the registry (zone_listing.h)
// as a "local-zone" of the control plane's region, opted in, in state
// available / impaired / unavailable. EC2's shape has no capacity field, so
// the appliance's capacity and the reason for a degraded state go into the
// zone's messages, which `aws ec2 describe-availability-zones` prints.
// Parameters: ZoneName.N, ZoneId.N, Filter.N.Name + Filter.N.Value.M
// (zone-name, zone-id, state, region-name, group-name, network-border-group,
// zone-type, opt-in-status, message; values may use * and ?), DryRun.
//
// Errors come back as Status whose subcode is EC2's error code
// (MissingAction, InvalidAction, InvalidParameterValue, DryRunOperation);
// RenderEc2Error gives any ApiError EC2's <Response><Errors> shape.

#include <string>
#include <string_view>

#include "appliance/core/result.h"
#include "appliance/http/api_error.h"
#include "sync/controlplane/operator_call.h"
#include "sync/controlplane/registry.h"

namespace annex::sync {

Result<http::Response> ServeEc2Query(const Registry& registry, OperatorCall& call);

// <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>
http::Response RenderEc2Error(const http::ApiError& error, std::string_view request_id);

// The zone's id, "<region abbreviation>-annex-<site>" as AWS abbreviates regions in zone ids:
// us-east-1 → use1-annex-lisbon-1, ap-southeast-2 → apse2-annex-x.
std::string Ec2ZoneId(std::string_view region, std::string_view site);

}  // namespace annex::sync
